"""NPS Content Fill: the content network's prediction, composited into the hole."""

from __future__ import annotations

from nps_core import defaults
from nps_core.pipeline import content_fill

from . import comfy_bridge

CATEGORY = "inpaint/NPS"


class NPSContentFill:
    """Fills the hole with the content network's prediction; known pixels are kept."""

    DESCRIPTION = (
        "Runs the content network on the image with its hole and pastes the prediction into the hole "
        "(known pixels stay as they are). This is the coarse starting point (and the content target) of "
        "the multi-scale optimisation; feed it a 128x128 crop from NPS Pyramid Down."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The image with the content network's prediction in the hole, same size as the input.",)
    FUNCTION = "fill"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "content_net": ("NPS_CONTENT_NET", {"tooltip": "Content network from NPS Content Net Loader."}),
                "image": ("IMAGE", {"tooltip": "Image (or window crop) whose hole is filled; ideally 128x128."}),
                "mask": (
                    "MASK",
                    {"tooltip": "Hole to fill (1 = fill). Resized to the image if its size differs; soft masks are "
                     "thresholded at 0.5."},
                ),
            }
        }

    def fill(self, content_net, image, mask):
        core_image = comfy_bridge.image_to_core(image)
        batch, _, height, width = core_image.shape
        core_mask = comfy_bridge.mask_to_core(mask, (height, width), batch, defaults.THRESHOLD)
        # content_fill runs on the network's device (the loader put it on ComfyUI's compute device).
        return (comfy_bridge.image_from_core(content_fill(content_net, core_image, core_mask)),)


NODES = {"NPSContentFill": (NPSContentFill, "NPS Content Fill")}
