"""NPS Inpaint: the whole multi-scale neural patch synthesis pipeline in one node."""

from __future__ import annotations

import torch

from nps_core import defaults
from nps_core.content import load_content_net
from nps_core.options import check_inpaint_options, check_int
from nps_core.pipeline import inpaint, synthesis_for_steps
from nps_core.texture import make_texture_settings

from . import comfy_bridge
from .loss_inputs import loss_weight_inputs

CATEGORY = "inpaint/NPS"
MAX_SEED = 0xFFFFFFFFFFFFFFFF
SYNTHESIS_STEPS_TOOLTIP = (
    "Synthesis steps per pyramid level, run before that level's optimisation: coherent patches of the "
    "surroundings (matched on the texture network's features) are copied and blended into the hole, "
    "which keeps stripes, edges and repeated texture sharp and continuous. The coarsest level runs "
    f"{defaults.SYNTHESIS_FIRST_STEPS} steps when this is above 0. 0 = off: the paper's plain "
    "optimisation, each level starting from the up-sampled coarser result (smoother, as published)."
)


def rng_devices(device: torch.device) -> list[int]:
    """CUDA devices whose RNG state `torch.random.fork_rng` must save (none on CPU)."""
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


class NPSInpaint:
    """Fills the masked hole: content network at 128 px, then texture optimisation coarse to fine."""

    DESCRIPTION = (
        "Multi-scale neural patch synthesis (Yang et al., CVPR 2017) in one node. A square window "
        "around the hole is cut out; the content network predicts the hole at 128x128; then, level by "
        "level (128, 256, ... up to the window size), the hole is optimised so its neural patches match "
        "the surrounding texture while staying close to the coarser result. Before each level's "
        "optimisation a synthesis step copies coherent patches of the surroundings into the hole "
        "(synthesis_steps; 0 = the paper's plain optimisation). Known pixels are kept exactly "
        "(feather 0). Slow on CPU: each level costs 'iterations' network passes."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The image with the hole filled, same size and batch as the input.",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The image to repair."}),
                "mask": (
                    "MASK",
                    {"tooltip": "The hole (1 = fill), e.g. LoadImage's mask of a PNG with transparent pixels. "
                     "Resized to the image if needed; one mask may serve a whole batch."},
                ),
                **loss_weight_inputs(
                    "Optimisation iterations per pyramid level (the paper: 100). On CPU try 10-30."
                ),
                "threshold": (
                    "FLOAT",
                    {"default": float(defaults.THRESHOLD), "min": 0.01, "max": 1.0, "step": 0.01,
                     "tooltip": "Soft-mask cut-off: mask values at or above it count as hole."},
                ),
                "feather": (
                    "INT",
                    {"default": int(defaults.FEATHER), "min": 0, "max": 64,
                     "tooltip": "Seam blending band outside the hole in pixels; 0 keeps every known pixel exact."},
                ),
                "seed": (
                    "INT",
                    {"default": 0, "min": 0, "max": MAX_SEED, "control_after_generate": True,
                     "tooltip": "Seed of the random numbers used (e.g. the synthesis step's random patch search), "
                     "for repeatable results."},
                ),
            },
            "optional": {
                "content_net": ("NPS_CONTENT_NET", {"tooltip": "Content network; unconnected = the shipped one."}),
                "texture": (
                    "NPS_TEXTURE",
                    {"tooltip": "Texture-loss settings from NPS Texture Loss; unconnected = "
                     f"{defaults.BACKBONE} with its default layers."},
                ),
                "synthesis_steps": (
                    "INT",
                    {"default": int(defaults.SYNTHESIS_STEPS), "min": 0, "max": 64,
                     "tooltip": SYNTHESIS_STEPS_TOOLTIP},
                ),
            },
        }

    def run(self, image, mask, alpha, beta, iterations, threshold, feather, seed, content_net=None, texture=None,
            synthesis_steps=defaults.SYNTHESIS_STEPS):
        # Values go to the core unconverted: nps_core validates them (feather=2.5 is an error, not 2).
        seed = check_int(seed, "seed", 0, MAX_SEED) % (2**63)
        synthesis = synthesis_for_steps(synthesis_steps, seed=seed)
        check_inpaint_options(alpha, beta, iterations, threshold, feather, defaults.WINDOW_SCALE,
                              defaults.MIN_WINDOW, defaults.CONTENT_SIGMA, None)
        device = comfy_bridge.compute_device()
        core_image = comfy_bridge.image_to_core(image)
        batch, _, height, width = core_image.shape
        core_mask = comfy_bridge.mask_to_core(mask, (height, width), batch, threshold)
        if not bool(core_mask.any()):
            return (comfy_bridge.image_from_core(core_image),)
        if content_net is None:
            content_net = load_content_net(None, device=device)
        if texture is None:
            texture = make_texture_settings(
                backbone=defaults.BACKBONE, device=device, search_dirs=tuple(comfy_bridge.model_folders())
            )
        with torch.random.fork_rng(devices=rng_devices(device)):
            torch.manual_seed(synthesis.seed)
            result = inpaint(
                core_image, core_mask, content_net=content_net, texture=texture, alpha=alpha, beta=beta,
                iterations=iterations, feather=feather, callback=comfy_bridge.progress_callback(),
                device=device, synthesis=synthesis,
            )
        return (comfy_bridge.image_from_core(result.image),)


NODES = {"NPSInpaint": (NPSInpaint, "NPS Inpaint")}
