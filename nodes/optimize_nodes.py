"""NPS Optimize Scale: one scale of the joint content + texture optimisation."""

from __future__ import annotations

import time

from comfy_api.latest import io

from ..nps_core import defaults
from ..nps_core.border_match import match_border
from ..nps_core.inputs import match_batch
from ..nps_core.memory import working_bytes
from ..nps_core.optimize import optimize_scale
from ..nps_core.options import check_int
from ..nps_core.synthesis import Synthesiser, SynthesisSettings
from . import comfy_bridge
from .model_memory import models_on_compute_device, retry_out_of_memory
from .resizing import resize_to
from .schema import CATEGORY, SYNTHESIS_TOOLTIP_OFF, Texture, loss_weight_inputs, synthesis_steps_input

SYNTHESIS_TOOLTIP = (
    "Synthesis steps before the optimisation: patches of the known region are matched to init's hole on the "
    "texture network's features (coherently, so neighbours copy neighbouring areas) and copied into it, keeping "
    "init's coarse colours; repeated each step. Sharper, more continuous texture than the optimisation alone. "
    "Each call matches from scratch (NPS Inpaint carries matches from scale to scale). "
    f"{SYNTHESIS_TOOLTIP_OFF} from init."
)


def format_report(report) -> str:
    """The core's ScaleReport as text for a STRING output."""
    if report is None:
        return ""
    for attribute in ("describe", "summary"):
        method = getattr(report, attribute, None)
        if callable(method):
            return str(method())
    return str(report)


class NPSOptimizeScale(io.ComfyNode):
    """Optimises the hole's pixels at one scale: content (stay close to init) + texture (look like the known region)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="NPSOptimizeScale",
            display_name="NPS Optimize Scale",
            category=CATEGORY,
            description=(
                "One scale of multi-scale neural patch synthesis. Starting from 'init', the hole's pixels are "
                "optimised (L-BFGS) so that the result stays close to 'init' (content loss), its neural patches "
                "match patches of the known region (texture loss, weight alpha) and it is smooth (total variation, "
                "weight beta). Known pixels are copied from 'image'. First, unless synthesis_steps is 0, a "
                "synthesis step copies coherent patches of the known region into init's hole (the optimisation "
                "then starts from, and stays close to, that). Chain scales with NPS Pyramid Up."
            ),
            inputs=[
                io.Image.Input("image", tooltip="Image at this scale; its known pixels are kept and its patches are "
                               "the texture source."),
                io.Mask.Input("mask", tooltip="Hole at this scale (1 = fill). Resized to the image if needed."),
                io.Image.Input("init", tooltip="Start and content target: NPS Content Fill at the coarsest scale, the "
                               "up-sampled previous scale otherwise. Resized to the image if its size differs."),
                Texture.Input("texture", tooltip="Texture-loss settings from NPS Texture Loss."),
                *loss_weight_inputs("Optimisation iterations at this scale. More = sharper texture, slower "
                                    "(CPU: keep it small)."),
                synthesis_steps_input(defaults.SYNTHESIS_FIRST_STEPS, SYNTHESIS_TOOLTIP),
            ],
            outputs=[
                io.Image.Output(display_name="image", tooltip="The optimised image at this scale (size of 'image')."),
                io.String.Output(display_name="report", tooltip="Loss terms per iteration summary (content, "
                                 "texture, tv) as text."),
            ],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    def execute(cls, image, mask, init, texture, alpha, beta, iterations,
                synthesis_steps=defaults.SYNTHESIS_FIRST_STEPS) -> io.NodeOutput:
        steps = check_int(synthesis_steps, "synthesis_steps", 0, defaults.MAX_SYNTHESIS_STEPS)
        synthesis = SynthesisSettings(steps=steps, first_steps=steps)
        core_image, core_mask = comfy_bridge.image_and_mask_to_core(image, mask, defaults.THRESHOLD)
        batch, _, height, width = core_image.shape
        core_init = match_batch(resize_to(comfy_bridge.image_to_core(init, "init"), height, width), batch, "init")
        if not bool(core_mask.any()):
            return io.NodeOutput(comfy_bridge.image_from_core(core_image),
                                 "empty mask: nothing to fill, image returned unchanged")
        callback = comfy_bridge.progress_callback(comfy_bridge.node_id(cls))

        def run(settings):
            started = time.perf_counter()
            start = core_init
            if synthesis.enabled:  # init (e.g. NPS Pyramid Up's) first meets this level's known pixels
                start = match_border(core_init, core_image, core_mask)
                start = Synthesiser(settings, synthesis).level(core_image, core_mask, start, finest=True)
            synth_seconds = time.perf_counter() - started if synthesis.enabled else 0.0
            result, report = optimize_scale(
                core_image, core_mask, start, settings, alpha=alpha, beta=beta,  # validated by the core
                iterations=iterations, callback=callback, content_sigma=defaults.CONTENT_SIGMA,
            )
            report.seconds += synth_seconds
            report.synthesis_seconds = synth_seconds
            return result, report

        need = working_bytes(max(height, width), batch, texture.chunk_elements)
        with models_on_compute_device(texture, working_bytes=need) as device:
            result, report = retry_out_of_memory(run, texture, device)
        return io.NodeOutput(comfy_bridge.image_from_core(result), format_report(report))


NODES = [NPSOptimizeScale]
