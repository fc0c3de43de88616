"""NPS Optimize Scale: one scale of the joint content + texture optimisation."""

from __future__ import annotations

import time

from nps_core import defaults
from nps_core.inputs import match_batch
from nps_core.optimize import optimize_scale
from nps_core.options import check_int
from nps_core.synthesis import Synthesiser, SynthesisSettings

from . import comfy_bridge
from .loss_inputs import loss_weight_inputs
from .resizing import resize_to

CATEGORY = "inpaint/NPS"


def format_report(report) -> str:
    """The core's `ScaleReport` (or None) as text for a STRING output."""
    return "" if report is None else report.describe()


class NPSOptimizeScale:
    """Optimises the hole's pixels at one scale: content (stay close to init) + texture (look like the known region)."""

    DESCRIPTION = (
        "One scale of multi-scale neural patch synthesis. Starting from 'init', the hole's pixels are "
        "optimised (L-BFGS) so that the result stays close to 'init' (content loss), its neural patches "
        "match patches of the known region (texture loss, weight alpha) and it is smooth (total variation, "
        "weight beta). Known pixels are copied from 'image'. First, unless synthesis_steps is 0, a "
        "synthesis step copies coherent patches of the known region into init's hole (the optimisation "
        "then starts from, and stays close to, that). Chain scales with NPS Pyramid Up."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE", "STRING")
    RETURN_NAMES = ("image", "report")
    OUTPUT_TOOLTIPS = (
        "The optimised image at this scale (size of 'image').",
        "Loss terms per iteration summary (content, texture, tv) as text.",
    )
    FUNCTION = "optimize"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "Image at this scale; its known pixels are kept and its patches are "
                                    "the texture source."}),
                "mask": ("MASK", {"tooltip": "Hole at this scale (1 = fill). Resized to the image if needed."}),
                "init": (
                    "IMAGE",
                    {"tooltip": "Start and content target: NPS Content Fill at the coarsest scale, the up-sampled "
                     "previous scale otherwise. Resized to the image if its size differs."},
                ),
                "texture": ("NPS_TEXTURE", {"tooltip": "Texture-loss settings from NPS Texture Loss."}),
                **loss_weight_inputs(
                    "Optimisation iterations at this scale. More = sharper texture, slower (CPU: keep it small)."
                ),
            },
            "optional": {
                "synthesis_steps": (
                    "INT",
                    {"default": int(defaults.SYNTHESIS_FIRST_STEPS), "min": 0, "max": 64,
                     "tooltip": "Synthesis steps before the optimisation: patches of the known region are "
                     "matched to init's hole on the texture network's features (coherently, so neighbours copy "
                     "neighbouring areas) and copied into it, keeping init's coarse colours; repeated each "
                     "step. Sharper, more continuous texture than the optimisation alone. Each call matches "
                     "from scratch (NPS Inpaint carries matches from scale to scale). 0 = off: the paper's "
                     "plain optimisation from init."},
                ),
            },
        }

    def optimize(self, image, mask, init, texture, alpha, beta, iterations,
                 synthesis_steps=defaults.SYNTHESIS_FIRST_STEPS):
        steps = check_int(synthesis_steps, "synthesis_steps", 0, defaults.MAX_SYNTHESIS_STEPS)
        synthesis = SynthesisSettings(steps=steps, first_steps=steps)
        core_image = comfy_bridge.image_to_core(image)
        batch, _, height, width = core_image.shape
        core_mask = comfy_bridge.mask_to_core(mask, (height, width), batch, defaults.THRESHOLD)
        core_init = comfy_bridge.image_to_core(init, "init")
        core_init = resize_to(core_init, height, width)
        core_init = match_batch(core_init, batch)
        if not bool(core_mask.any()):
            return (comfy_bridge.image_from_core(core_image), "empty mask: nothing to fill, image returned unchanged")
        callback = comfy_bridge.progress_callback()
        synth_seconds = 0.0
        if synthesis.enabled:
            started = time.perf_counter()
            core_init = Synthesiser(texture, synthesis).level(core_image, core_mask, core_init)
            synth_seconds = time.perf_counter() - started
        result, report = optimize_scale(
            core_image, core_mask, core_init, texture,
            alpha=alpha, beta=beta, iterations=iterations, callback=callback,  # validated by the core
            content_sigma=defaults.CONTENT_SIGMA,
        )
        report.seconds += synth_seconds
        report.synthesis_seconds = synth_seconds
        return (comfy_bridge.image_from_core(result), format_report(report))


NODES = {"NPSOptimizeScale": (NPSOptimizeScale, "NPS Optimize Scale")}
