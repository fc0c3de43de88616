"""Loader nodes: the content network and the texture-loss settings (feature backbone)."""

from __future__ import annotations

from nps_core import defaults
from nps_core.backbones import BACKBONES, DEFAULT_LAYERS
from nps_core.content import load_content_net
from nps_core.texture import make_texture_settings

from . import comfy_bridge

CATEGORY = "inpaint/NPS"
SHIPPED_CONTENT_NET = "content_net (shipped)"
AUTO_WEIGHTS = "auto"
DEFAULT_BACKBONE = defaults.BACKBONE


class NPSContentNetLoader:
    """Loads the content network (the Context-Encoder that predicts the hole's coarse content)."""

    DESCRIPTION = (
        "Loads the content network of multi-scale neural patch synthesis: an encoder-decoder that "
        "predicts the missing region's overall structure and colour at 128x128. 'content_net (shipped)' "
        "is the pack's own file; other entries are .safetensors files in models/nps."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("NPS_CONTENT_NET",)
    RETURN_NAMES = ("content_net",)
    OUTPUT_TOOLTIPS = (
        "The content network, on ComfyUI's compute device. Connect it to NPS Content Fill or NPS Inpaint.",
    )
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        choices = [SHIPPED_CONTENT_NET] + [name for name in comfy_bridge.model_files() if name.endswith(".safetensors")]
        return {
            "required": {
                "model_name": (
                    choices,
                    {
                        "default": SHIPPED_CONTENT_NET,
                        "tooltip": "Content network weights: the shipped file, or a .safetensors file "
                        "trained with `python -m nps_core.train` and placed in models/nps.",
                    },
                ),
            }
        }

    def load(self, model_name):
        path = None if model_name == SHIPPED_CONTENT_NET else comfy_bridge.model_file_path(model_name, "model_name")
        return (load_content_net(path, device=comfy_bridge.compute_device()),)


class NPSTextureLoss:
    """Builds the texture-loss settings: which network's features are matched as neural patches."""

    DESCRIPTION = (
        "Chooses the feature network and layers whose 3x3 neural patches the texture loss matches "
        "between the hole and the known region. The paper uses vgg19 (relu3_1, relu4_1); it needs the "
        "VGG-19 weights file in models/nps. efficientnet_lite0 is smaller and faster and is the default "
        "here. vgg19_random has random weights and is for testing only."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("NPS_TEXTURE",)
    RETURN_NAMES = ("texture",)
    OUTPUT_TOOLTIPS = (
        "Texture-loss settings (feature network, layers, weights). Connect to NPS Optimize Scale or NPS Inpaint.",
    )
    FUNCTION = "build"

    @classmethod
    def INPUT_TYPES(cls):
        backbones = list(BACKBONES)
        layer_help = "; ".join(f"{name}: {', '.join(DEFAULT_LAYERS[name])}" for name in backbones)
        return {
            "required": {
                "backbone": (
                    backbones,
                    {
                        "default": DEFAULT_BACKBONE,
                        "tooltip": "Feature network for the texture loss. vgg19 is the paper's choice (needs its "
                        "weights in models/nps); efficientnet_lite0 is lighter; vgg19_random is untrained, for tests.",
                    },
                ),
                "layers": (
                    "STRING",
                    {
                        "default": "",
                        "multiline": False,
                        "tooltip": "Comma-separated feature layers to match; empty = the backbone's defaults "
                        f"({layer_help}).",
                    },
                ),
                "layer_weights": (
                    "STRING",
                    {
                        "default": "",
                        "multiline": False,
                        "tooltip": "Comma-separated weight per layer (same count as layers); empty = equal weights.",
                    },
                ),
                "patch_size": (
                    "INT",
                    {
                        "default": defaults.PATCH_SIZE,
                        "min": 1,
                        "max": 7,
                        "step": 2,
                        "tooltip": "Side of the neural patches in feature cells (the paper uses 3). Odd numbers.",
                    },
                ),
                "refresh_every": (
                    "INT",
                    {
                        "default": int(defaults.REFRESH_EVERY),
                        "min": 1,
                        "max": 1000,
                        "tooltip": "Recompute the nearest-neighbour patch matches every N optimisation iterations "
                        "(1 = every iteration, slowest and most faithful).",
                    },
                ),
                "weights": (
                    [AUTO_WEIGHTS] + comfy_bridge.model_files(),
                    {
                        "default": AUTO_WEIGHTS,
                        "tooltip": "Weights file for the backbone; 'auto' looks for the backbone's usual file name "
                        "in models/nps and the pack's weights folder.",
                    },
                ),
            }
        }

    def build(self, backbone, layers, layer_weights, patch_size, refresh_every, weights):
        weights_path = None if weights == AUTO_WEIGHTS else comfy_bridge.model_file_path(weights, "weights")
        settings = make_texture_settings(
            backbone=backbone,
            layers=layers,
            layer_weights=layer_weights,
            patch_size=int(patch_size),
            refresh_every=int(refresh_every),
            weights_path=weights_path,
            device=comfy_bridge.compute_device(),
            search_dirs=tuple(comfy_bridge.model_folders()),
        )
        return (settings,)


NODES = {
    "NPSContentNetLoader": (NPSContentNetLoader, "NPS Content Net Loader"),
    "NPSTextureLoss": (NPSTextureLoss, "NPS Texture Loss"),
}
