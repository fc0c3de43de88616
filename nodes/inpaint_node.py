"""NPS Inpaint: the whole multi-scale neural patch synthesis pipeline in one node."""

from __future__ import annotations

import torch
from comfy_api.latest import io

from ..nps_core import defaults
from ..nps_core.memory import working_bytes
from ..nps_core.options import check_inpaint_options
from ..nps_core.pipeline import inpaint, synthesis_for_steps
from ..nps_core.window import plan_window
from . import comfy_bridge
from .loader_nodes import default_texture, load_shipped_or_named_content_net
from .model_memory import models_on_compute_device, retry_out_of_memory
from .schema import (
    CATEGORY,
    SYNTHESIS_TOOLTIP_OFF,
    ContentNet,
    Texture,
    content_views_input,
    feather_input,
    loss_weight_inputs,
    seed_input,
    seed_value,
    synthesis_steps_input,
    threshold_input,
)

SYNTHESIS_STEPS_TOOLTIP = (
    "Synthesis steps per pyramid level, run before that level's optimisation: coherent patches of the "
    "surroundings (matched on the texture network's features) are copied and blended into the hole, "
    "which keeps stripes, edges and repeated texture sharp and continuous. The coarsest level runs "
    f"{defaults.SYNTHESIS_FIRST_STEPS} steps when this is above 0. {SYNTHESIS_TOOLTIP_OFF}, each level "
    "starting from the up-sampled coarser result (smoother, as published)."
)


def rng_devices(device: torch.device) -> list[int]:
    """CUDA devices whose RNG state `torch.random.fork_rng` must save (none on CPU)."""
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


def window_side(core_mask: torch.Tensor) -> int:
    """Side of the context window the pipeline will plan for these masks [B,1,H,W] (memory estimate)."""
    return plan_window(core_mask, scale=defaults.WINDOW_SCALE, min_size=defaults.MIN_WINDOW).size


class NPSInpaint(io.ComfyNode):
    """Fills the masked hole: content network at 128 px, then texture optimisation coarse to fine."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="NPSInpaint",
            display_name="NPS Inpaint",
            category=CATEGORY,
            description=(
                "Multi-scale neural patch synthesis (Yang et al., CVPR 2017) in one node. A square window "
                "around the hole is cut out; the content network predicts the hole at 128x128; then, level by "
                "level (128, 256, ... up to the window size), the hole is optimised so its neural patches match "
                "the surrounding texture while staying close to the coarser result. Before each level's "
                "optimisation a synthesis step copies coherent patches of the surroundings into the hole "
                "(synthesis_steps; 0 = the paper's plain optimisation). Known pixels are kept exactly "
                "(feather 0). Connect 'content' to refine another inpainter's rough or low-resolution fill "
                "instead of the content network's. Slow on CPU: each level costs 'iterations' network passes."
            ),
            inputs=[
                io.Image.Input("image",
                               tooltip="The image to repair. One image with a batch of N masks gives N fills."),
                io.Mask.Input(
                    "mask",
                    tooltip="The hole (1 = fill), e.g. LoadImage's mask of a PNG with transparent pixels. "
                    "Resized to the image if needed; one mask may serve a whole batch.",
                ),
                *loss_weight_inputs("Optimisation iterations per pyramid level (the paper: 100). On CPU try 10-30."),
                threshold_input(),
                feather_input(),
                seed_input(),
                ContentNet.Input("content_net", optional=True,
                                 tooltip="Content network; unconnected = the shipped one."),
                Texture.Input(
                    "texture", optional=True,
                    tooltip=f"Texture-loss settings from NPS Texture Loss; unconnected = {defaults.BACKBONE} with "
                    "its default layers.",
                ),
                synthesis_steps_input(defaults.SYNTHESIS_STEPS, SYNTHESIS_STEPS_TOOLTIP),
                content_views_input(),
                io.Image.Input(
                    "content", optional=True,
                    tooltip="Optional rough fill of the same picture from any inpainter (LaMa, MAT, a diffusion "
                    "inpaint, a painted guide), at any resolution: it replaces the content network, the pyramid "
                    "starts at the level closest to its resolution and adds real texture up to full size, keeping "
                    "what the fill shows at its own resolution (the result, scaled down, still looks like the "
                    "fill). Only its pixels under the hole are used. Unconnected = the content network.",
                ),
            ],
            outputs=[io.Image.Output(display_name="image",
                                     tooltip="The image with the hole filled, same size and batch as the input.")],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    def execute(cls, image, mask, alpha, beta, iterations, threshold, feather, seed, content_net=None,
                texture=None, synthesis_steps=defaults.SYNTHESIS_STEPS, content=None,
                content_views=defaults.CONTENT_VIEWS) -> io.NodeOutput:
        # Settings reach the core unconverted and are checked before anything else (feather=2.5 is an
        # error, not 2), also when the mask turns out empty.
        seed = seed_value(seed)
        synthesis = synthesis_for_steps(synthesis_steps, seed=seed)
        check_inpaint_options(alpha, beta, iterations, threshold, feather, defaults.WINDOW_SCALE,
                              defaults.MIN_WINDOW, defaults.CONTENT_SIGMA, None, content_views)
        core_image, core_mask = comfy_bridge.image_and_mask_to_core(image, mask, threshold)
        if not bool(core_mask.any()):
            return io.NodeOutput(comfy_bridge.image_from_core(core_image))
        core_content = None if content is None else comfy_bridge.image_to_core(content, "content")
        if core_content is not None:
            content_net = None  # a rough fill replaces the content network
        elif content_net is None:
            content_net = load_shipped_or_named_content_net(None)
        texture = default_texture() if texture is None else texture
        callback = comfy_bridge.progress_callback(comfy_bridge.node_id(cls))
        need = working_bytes(window_side(core_mask), core_image.shape[0], texture.chunk_elements)

        with models_on_compute_device(content_net, texture, working_bytes=need) as device:
            def run(settings):
                with torch.random.fork_rng(devices=rng_devices(device)):
                    torch.manual_seed(seed)
                    return inpaint(
                        core_image, core_mask, content_net=content_net, texture=settings,
                        alpha=alpha, beta=beta, iterations=iterations, feather=feather, callback=callback,
                        device=device, synthesis=synthesis, content=core_content, content_views=content_views,
                    )

            result = retry_out_of_memory(run, texture, device)
        return io.NodeOutput(comfy_bridge.image_from_core(result.image))


NODES = [NPSInpaint]
