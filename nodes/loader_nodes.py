"""Loader nodes: the content network and the texture-loss settings (feature backbone).

Both load onto ComfyUI's offload device; the nodes that run them move them to the compute device
for the run only (model_memory.models_on_compute_device).
"""

from __future__ import annotations

from comfy_api.latest import io

from ..nps_core import defaults
from ..nps_core.backbones import BACKBONES, DEFAULT_LAYERS
from ..nps_core.content import load_content_net
from ..nps_core.texture import make_texture_settings
from . import comfy_bridge
from .model_memory import offload_device
from .schema import CATEGORY, ContentNet, Texture

SHIPPED_CONTENT_NET = "content_net (shipped)"
AUTO_WEIGHTS = "auto"


def load_shipped_or_named_content_net(model_name: str | None):
    """The content network on the offload device: the shipped one (None / SHIPPED_CONTENT_NET) or a models/nps file."""
    path = None if model_name in (None, SHIPPED_CONTENT_NET) else comfy_bridge.model_file_path(model_name, "model_name")
    return load_content_net(path, device=offload_device())


def default_texture():
    """The default texture settings (defaults.BACKBONE, its default layers) on the offload device."""
    return make_texture_settings(backbone=defaults.BACKBONE, device=offload_device(),
                                 search_dirs=tuple(comfy_bridge.model_folders()))


class NPSContentNetLoader(io.ComfyNode):
    """Loads the content network (the Context-Encoder that predicts the hole's coarse content)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        choices = [SHIPPED_CONTENT_NET] + [name for name in comfy_bridge.model_files() if name.endswith(".safetensors")]
        return io.Schema(
            node_id="NPSContentNetLoader",
            display_name="NPS Content Net Loader",
            category=CATEGORY,
            description=(
                "Loads the content network of multi-scale neural patch synthesis: an encoder-decoder that "
                "predicts the missing region's overall structure and colour at 128x128. 'content_net (shipped)' "
                "is the pack's own file; other entries are .safetensors files in models/nps."
            ),
            inputs=[
                io.Combo.Input(
                    "model_name", options=choices, default=SHIPPED_CONTENT_NET,
                    tooltip="Content network weights: the shipped file, or a .safetensors file trained with "
                    "`python -m nps_core.train` and placed in models/nps.",
                ),
            ],
            outputs=[
                ContentNet.Output(
                    display_name="content_net",
                    tooltip="The content network (waits on ComfyUI's offload device; moved to the GPU only while "
                    "a node runs it). Connect it to NPS Content Fill or NPS Inpaint.",
                ),
            ],
        )

    @classmethod
    def execute(cls, model_name) -> io.NodeOutput:
        return io.NodeOutput(load_shipped_or_named_content_net(model_name))


class NPSTextureLoss(io.ComfyNode):
    """Builds the texture-loss settings: which network's features are matched as neural patches."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        backbones = list(BACKBONES)
        default_backbone = defaults.BACKBONE if defaults.BACKBONE in backbones else backbones[0]
        layer_help = "; ".join(f"{name}: {', '.join(DEFAULT_LAYERS[name])}" for name in backbones)
        return io.Schema(
            node_id="NPSTextureLoss",
            display_name="NPS Texture Loss",
            category=CATEGORY,
            description=(
                "Chooses the feature network and layers whose 3x3 neural patches the texture loss matches "
                "between the hole and the known region. The paper uses vgg19 (relu3_1, relu4_1); it needs the "
                "VGG-19 weights file in models/nps. efficientnet_lite0 is smaller and faster and is the default "
                "here. vgg19_random has random weights and is for testing only."
            ),
            inputs=[
                io.Combo.Input(
                    "backbone", options=backbones, default=default_backbone,
                    tooltip="Feature network for the texture loss. vgg19 is the paper's choice (needs its weights in "
                    "models/nps); efficientnet_lite0 is lighter; vgg19_random is untrained, for tests.",
                ),
                io.String.Input(
                    "layers", default="", multiline=False,
                    tooltip=f"Comma-separated feature layers to match; empty = the backbone's defaults ({layer_help}).",
                ),
                io.String.Input(
                    "layer_weights", default="", multiline=False,
                    tooltip="Comma-separated weight per layer (same count as layers); empty = equal weights.",
                ),
                io.Int.Input(
                    "patch_size", default=int(defaults.PATCH_SIZE), min=1, max=7, step=2,
                    tooltip="Side of the neural patches in feature cells (the paper uses 3). Odd numbers.",
                ),
                io.Int.Input(
                    "refresh_every", default=int(defaults.REFRESH_EVERY), min=1, max=1000,
                    tooltip="Recompute the nearest-neighbour patch matches every N optimisation iterations "
                    "(1 = every iteration, slowest and most faithful).",
                ),
                io.Combo.Input(
                    "weights", options=[AUTO_WEIGHTS] + comfy_bridge.model_files(), default=AUTO_WEIGHTS,
                    tooltip="Weights file for the backbone; 'auto' looks for the backbone's usual file name in "
                    "models/nps and the pack's weights folder.",
                ),
            ],
            outputs=[
                Texture.Output(
                    display_name="texture",
                    tooltip="Texture-loss settings (feature network, layers, weights). Connect to NPS Optimize "
                    "Scale or NPS Inpaint.",
                ),
            ],
        )

    @classmethod
    def execute(cls, backbone, layers, layer_weights, patch_size, refresh_every, weights) -> io.NodeOutput:
        weights_path = None if weights == AUTO_WEIGHTS else comfy_bridge.model_file_path(weights, "weights")
        settings = make_texture_settings(
            backbone=backbone, layers=layers, layer_weights=layer_weights, patch_size=int(patch_size),
            refresh_every=int(refresh_every), weights_path=weights_path, device=offload_device(),
            search_dirs=tuple(comfy_bridge.model_folders()),
        )
        return io.NodeOutput(settings)


NODES = [NPSContentNetLoader, NPSTextureLoss]
