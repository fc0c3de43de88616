"""NPS Crop Window / NPS Stitch Window: cut the square context window around the hole and paste it back."""

from __future__ import annotations

from dataclasses import dataclass

from nps_core import defaults
from nps_core.errors import NPSInputError
from nps_core.inputs import match_batch
from nps_core.options import check_threshold
from nps_core.window import ContextWindow, crop_window, plan_window, stitch_window

from . import comfy_bridge

CATEGORY = "inpaint/NPS"


@dataclass(frozen=True)
class WindowHandle:
    """What travels on an NPS_WINDOW link: the planned window and the mask threshold used to plan it."""

    window: ContextWindow
    threshold: float

    def describe(self) -> str:
        return self.window.describe()


class NPSCropWindow:
    """Cuts a square context window around the hole (reflect-padded where it leaves the image)."""

    DESCRIPTION = (
        "Plans a square window around the hole (about window_scale x the hole's size, at least min_size "
        "pixels, a multiple of 8) and cuts it out of the image and the mask. Work on the crop at a few "
        "scales, then paste it back with NPS Stitch Window using the 'window' output."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE", "MASK", "NPS_WINDOW")
    RETURN_NAMES = ("image", "mask", "window")
    OUTPUT_TOOLTIPS = (
        "The square window crop of the image [B,S,S,3].",
        "The window crop of the hole mask (0/1) [B,S,S].",
        "Where the window lies; connect to NPS Stitch Window.",
    )
    FUNCTION = "crop"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The full image with a hole."}),
                "mask": ("MASK", {"tooltip": "The hole (1 = fill). Resized to the image if needed; one mask may serve "
                                  "a batch."}),
                "threshold": (
                    "FLOAT",
                    {"default": float(defaults.THRESHOLD), "min": 0.01, "max": 1.0, "step": 0.01,
                     "tooltip": "Soft-mask cut-off: mask values at or above it count as hole."},
                ),
                "window_scale": (
                    "FLOAT",
                    {"default": float(defaults.WINDOW_SCALE), "min": 1.0, "max": 8.0, "step": 0.1,
                     "tooltip": "Window side as a multiple of the hole's longer side (the paper: 2, a 256 px hole "
                     "in 512 px)."},
                ),
                "min_size": (
                    "INT",
                    {"default": int(defaults.MIN_WINDOW), "min": 8, "max": 8192, "step": 8,
                     "tooltip": "Smallest window side in pixels (128 = the content network's input size)."},
                ),
            }
        }

    def crop(self, image, mask, threshold, window_scale, min_size):
        core_image = comfy_bridge.image_to_core(image)
        batch, _, height, width = core_image.shape
        threshold = check_threshold(threshold)
        core_mask = comfy_bridge.mask_to_core(mask, (height, width), batch, threshold)
        window = plan_window(core_mask, scale=window_scale, min_size=min_size)  # the core validates them
        image_crop = crop_window(core_image, window)
        mask_crop = crop_window(core_mask, window)
        return (
            comfy_bridge.image_from_core(image_crop),
            comfy_bridge.mask_from_core(mask_crop),
            WindowHandle(window=window, threshold=threshold),
        )


class NPSStitchWindow:
    """Pastes the window result back into the full image; pixels outside the hole stay untouched."""

    DESCRIPTION = (
        "Pastes the finished window (any size; resized to the window) back into the original image, "
        "inside the hole only. With feather 0 every pixel outside the hole is bit-for-bit the original; "
        "feather > 0 blends a band of that many pixels around the hole."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The full-size image with the hole filled.",)
    FUNCTION = "stitch"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The original full image (the one given to NPS Crop Window)."}),
                "mask": ("MASK", {"tooltip": "The original hole mask (the one given to NPS Crop Window)."}),
                "result": ("IMAGE", {"tooltip": "The filled window, e.g. from the last NPS Optimize Scale."}),
                "window": ("NPS_WINDOW", {"tooltip": "The 'window' output of NPS Crop Window."}),
                "feather": (
                    "INT",
                    {"default": int(defaults.FEATHER), "min": 0, "max": 64,
                     "tooltip": "Seam blending band outside the hole in pixels; 0 keeps every known pixel exact."},
                ),
            }
        }

    def stitch(self, image, mask, result, window, feather):
        if not isinstance(window, WindowHandle):
            raise NPSInputError("window: connect the 'window' output of NPS Crop Window.")
        core_image = comfy_bridge.image_to_core(image)
        batch, _, height, width = core_image.shape
        if (height, width) != tuple(window.window.image_hw) or batch != window.window.batch:
            raise NPSInputError(
                f"image is {batch}x{height}x{width} but the window was planned for "
                f"{window.window.batch}x{window.window.image_hw[0]}x{window.window.image_hw[1]} "
                f"({window.describe()}); connect the same image that went into NPS Crop Window."
            )
        core_mask = comfy_bridge.mask_to_core(mask, (height, width), batch, window.threshold)
        core_result = comfy_bridge.image_to_core(result, "result")
        core_result = match_batch(core_result, batch, "result")
        stitched = stitch_window(core_image, core_mask, core_result, window.window, feather=feather)
        return (comfy_bridge.image_from_core(stitched),)


NODES = {
    "NPSCropWindow": (NPSCropWindow, "NPS Crop Window"),
    "NPSStitchWindow": (NPSStitchWindow, "NPS Stitch Window"),
}
