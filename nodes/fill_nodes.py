"""NPS Content Fill: the content network's prediction, composited into the hole."""

from __future__ import annotations

from comfy_api.latest import io

from ..nps_core import defaults
from ..nps_core.memory import working_bytes
from ..nps_core.options import check_content_views
from ..nps_core.pipeline import content_fill
from . import comfy_bridge
from .model_memory import models_on_compute_device
from .schema import CATEGORY, ContentNet, content_views_input


class NPSContentFill(io.ComfyNode):
    """Fills the hole with the content network's prediction; known pixels are kept."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="NPSContentFill",
            display_name="NPS Content Fill",
            category=CATEGORY,
            description=(
                "Runs the content network on the image with its hole and pastes the prediction into the hole "
                "(known pixels stay as they are). This is the coarse starting point (and the content target) of "
                "the multi-scale optimisation; feed it a 128x128 crop from NPS Pyramid Down."
            ),
            inputs=[
                ContentNet.Input("content_net", tooltip="Content network from NPS Content Net Loader."),
                io.Image.Input("image", tooltip="Image (or window crop) whose hole is filled; ideally 128x128."),
                io.Mask.Input(
                    "mask",
                    tooltip="Hole to fill (1 = fill). Resized to the image if its size differs; soft masks are "
                    "thresholded at 0.5. One image with N masks gives N fills.",
                ),
                content_views_input("views"),
            ],
            outputs=[io.Image.Output(display_name="image", tooltip="The image with the content network's "
                                     "prediction in the hole, same size as the input.")],
        )

    @classmethod
    def execute(cls, content_net, image, mask, views=defaults.CONTENT_VIEWS) -> io.NodeOutput:
        views = check_content_views(views, "views")
        core_image, core_mask = comfy_bridge.image_and_mask_to_core(image, mask, defaults.THRESHOLD)
        batch, _, height, width = core_image.shape
        with models_on_compute_device(content_net, working_bytes=working_bytes(max(height, width), batch, 0)):
            filled = content_fill(content_net, core_image, core_mask, views)
        return io.NodeOutput(comfy_bridge.image_from_core(filled))


NODES = [NPSContentFill]
