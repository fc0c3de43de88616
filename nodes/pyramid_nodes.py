"""NPS Pyramid Down / NPS Pyramid Up: move a window between the scales of the coarse-to-fine pyramid."""

from __future__ import annotations

from nps_core import defaults
from nps_core.errors import NPSInputError
from nps_core.options import check_int
from nps_core.pyramid import downsample_mask, resize_image

from . import comfy_bridge
from .resizing import resize_to

CATEGORY = "inpaint/NPS"


class NPSPyramidDown:
    """Shrinks a square window and its mask to one pyramid level."""

    DESCRIPTION = (
        "Resizes a square window crop and its hole mask to size x size for one level of the pyramid "
        "(the paper: 128, 256, 512). The image is antialiased from the known pixels only (what the hole "
        "holds never matters; pixels deep inside the hole come out mid grey); the mask is shrunk "
        "conservatively (a pixel is hole if any pixel under it was), so the hole never shrinks."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("image", "mask")
    OUTPUT_TOOLTIPS = ("The window at size x size.", "The hole mask at size x size (0/1).")
    FUNCTION = "down"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "A square window crop (from NPS Crop Window)."}),
                "mask": ("MASK", {"tooltip": "Its hole mask (1 = fill)."}),
                "size": (
                    "INT",
                    {"default": int(defaults.COARSEST), "min": 32, "max": 8192, "step": 8,
                     "tooltip": "Side of this level in pixels, a multiple of 8 (128 = the content network's size)."},
                ),
            }
        }

    def down(self, image, mask, size):
        size = check_int(size, "size", 8, defaults.MAX_WINDOW)
        if size % defaults.MULTIPLE:
            raise NPSInputError(f"size={size} must be a multiple of {defaults.MULTIPLE}; try {size - size % 8 or 8}.")
        core_image = comfy_bridge.image_to_core(image)
        batch, _, height, width = core_image.shape
        if height != width:
            raise NPSInputError(
                f"image is {height}x{width} but NPS Pyramid Down works on square windows; "
                "put NPS Crop Window in front of it."
            )
        core_mask = comfy_bridge.mask_to_core(mask, (height, width), batch, defaults.THRESHOLD)
        return (
            comfy_bridge.image_from_core(resize_image(core_image, size, mask=core_mask)),
            comfy_bridge.mask_from_core(downsample_mask(core_mask, size)),
        )


class NPSPyramidUp:
    """Enlarges a level's result to the size of the next level (the start of its optimisation)."""

    DESCRIPTION = (
        "Up-samples an image (bilinear) to the size of 'like', typically the result of one pyramid "
        "level to the next level's size, where it is the start and content target of NPS Optimize Scale."
    )
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("'image' resized to the height and width of 'like'.",)
    FUNCTION = "up"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The result of the coarser level."}),
                "like": ("IMAGE", {"tooltip": "Any image of the target size (e.g. the next level's window); only its "
                                   "size is used."}),
            }
        }

    def up(self, image, like):
        core_image = comfy_bridge.image_to_core(image)
        if not hasattr(like, "shape") or like.dim() not in (3, 4):
            raise NPSInputError("like: connect an IMAGE whose size the result should take.")
        height, width = int(like.shape[-3]), int(like.shape[-2])
        return (comfy_bridge.image_from_core(resize_to(core_image, height, width)),)


NODES = {
    "NPSPyramidDown": (NPSPyramidDown, "NPS Pyramid Down"),
    "NPSPyramidUp": (NPSPyramidUp, "NPS Pyramid Up"),
}
