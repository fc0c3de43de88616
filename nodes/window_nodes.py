"""NPS Crop Window / NPS Stitch Window: cut the square context window around the hole and paste it back."""

from __future__ import annotations

from dataclasses import dataclass

from comfy_api.latest import io

from ..nps_core import defaults
from ..nps_core.errors import NPSInputError
from ..nps_core.inputs import match_batch
from ..nps_core.options import check_threshold
from ..nps_core.window import ContextWindow, crop_window, plan_window, stitch_window
from . import comfy_bridge
from .schema import CATEGORY, Window, feather_input, threshold_input


@dataclass(frozen=True)
class WindowHandle:
    """What travels on an NPS_WINDOW link: the planned window and the mask threshold used to plan it."""

    window: ContextWindow
    threshold: float

    def describe(self) -> str:
        return self.window.describe()


class NPSCropWindow(io.ComfyNode):
    """Cuts a square context window around the hole (reflect-padded where it leaves the image)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="NPSCropWindow",
            display_name="NPS Crop Window",
            category=CATEGORY,
            description=(
                "Plans a square window around the hole (about window_scale x the hole's size, at least min_size "
                "pixels, a multiple of 8) and cuts it out of the image and the mask. Work on the crop at a few "
                "scales, then paste it back with NPS Stitch Window using the 'window' output."
            ),
            inputs=[
                io.Image.Input("image", tooltip="The full image with a hole."),
                io.Mask.Input("mask", tooltip="The hole (1 = fill). Resized to the image if needed; one mask may "
                              "serve a batch, and one image may be cut with a batch of masks."),
                threshold_input(),
                io.Float.Input(
                    "window_scale", default=float(defaults.WINDOW_SCALE), min=1.0,
                    max=float(defaults.MAX_WINDOW_SCALE), step=0.1,
                    tooltip="Window side as a multiple of the hole's longer side (the paper: 2, a 256 px hole in "
                    "512 px).",
                ),
                io.Int.Input(
                    "min_size", default=int(defaults.MIN_WINDOW), min=8, max=int(defaults.MAX_WINDOW),
                    step=defaults.MULTIPLE,
                    tooltip="Smallest window side in pixels (128 = the content network's input size).",
                ),
            ],
            outputs=[
                io.Image.Output(display_name="image", tooltip="The square window crop of the image [B,S,S,3]."),
                io.Mask.Output(display_name="mask", tooltip="The window crop of the hole mask (0/1) [B,S,S]."),
                Window.Output(display_name="window", tooltip="Where the window lies; connect to NPS Stitch Window."),
            ],
        )

    @classmethod
    def execute(cls, image, mask, threshold, window_scale, min_size) -> io.NodeOutput:
        threshold = check_threshold(threshold)
        core_image, core_mask = comfy_bridge.image_and_mask_to_core(image, mask, threshold)
        window = plan_window(core_mask, scale=window_scale, min_size=min_size)  # the core validates them
        return io.NodeOutput(
            comfy_bridge.image_from_core(crop_window(core_image, window)),
            comfy_bridge.mask_from_core(crop_window(core_mask, window)),
            WindowHandle(window=window, threshold=threshold),
        )


class NPSStitchWindow(io.ComfyNode):
    """Pastes the window result back into the full image; pixels outside the hole stay untouched."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="NPSStitchWindow",
            display_name="NPS Stitch Window",
            category=CATEGORY,
            description=(
                "Pastes the finished window (any size; resized to the window) back into the original image, "
                "inside the hole only. With feather 0 every pixel outside the hole is bit-for-bit the original; "
                "feather > 0 blends a band of that many pixels around the hole."
            ),
            inputs=[
                io.Image.Input("image", tooltip="The original full image (the one given to NPS Crop Window)."),
                io.Mask.Input("mask", tooltip="The original hole mask (the one given to NPS Crop Window)."),
                io.Image.Input("result", tooltip="The filled window, e.g. from the last NPS Optimize Scale."),
                Window.Input("window", tooltip="The 'window' output of NPS Crop Window."),
                feather_input(),
            ],
            outputs=[io.Image.Output(display_name="image", tooltip="The full-size image with the hole filled.")],
        )

    @classmethod
    def execute(cls, image, mask, result, window, feather) -> io.NodeOutput:
        if not isinstance(window, WindowHandle):
            raise NPSInputError("window: connect the 'window' output of NPS Crop Window.")
        planned = window.window
        core_image = comfy_bridge.image_to_core(image)
        core_image = match_batch(core_image, planned.batch) if core_image.shape[0] == 1 else core_image
        batch, _, height, width = core_image.shape
        if (height, width) != tuple(planned.image_hw) or batch != planned.batch:
            raise NPSInputError(
                f"image is {batch}x{height}x{width} but the window was planned for "
                f"{planned.batch}x{planned.image_hw[0]}x{planned.image_hw[1]} "
                f"({window.describe()}); connect the same image that went into NPS Crop Window."
            )
        core_mask = comfy_bridge.mask_to_core(mask, (height, width), batch, window.threshold)
        core_result = match_batch(comfy_bridge.image_to_core(result, "result"), batch, "result")
        stitched = stitch_window(core_image, core_mask, core_result, planned, feather=feather)
        return io.NodeOutput(comfy_bridge.image_from_core(stitched))


NODES = [NPSCropWindow, NPSStitchWindow]
