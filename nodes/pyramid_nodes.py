"""NPS Pyramid Down / NPS Pyramid Up: move a window between the scales of the coarse-to-fine pyramid."""

from __future__ import annotations

from comfy_api.latest import io

from ..nps_core import defaults
from ..nps_core.errors import NPSInputError
from ..nps_core.options import check_int
from ..nps_core.pyramid import downsample_mask, resize_image
from . import comfy_bridge
from .resizing import resize_to
from .schema import CATEGORY


class NPSPyramidDown(io.ComfyNode):
    """Shrinks a square window and its mask to one pyramid level."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="NPSPyramidDown",
            display_name="NPS Pyramid Down",
            category=CATEGORY,
            description=(
                "Resizes a square window crop and its hole mask to size x size for one level of the pyramid "
                "(the paper: 128, 256, 512). The image is antialiased from the known pixels only (what the hole "
                "holds never matters; pixels deep inside the hole come out mid grey); the mask is shrunk "
                "conservatively (a pixel is hole if any pixel under it was), so the hole never shrinks."
            ),
            inputs=[
                io.Image.Input("image", tooltip="A square window crop (from NPS Crop Window)."),
                io.Mask.Input("mask", tooltip="Its hole mask (1 = fill)."),
                io.Int.Input(
                    "size", default=int(defaults.COARSEST), min=32, max=int(defaults.MAX_WINDOW),
                    step=defaults.MULTIPLE,
                    tooltip="Side of this level in pixels, a multiple of 8 (128 = the content network's size).",
                ),
            ],
            outputs=[
                io.Image.Output(display_name="image", tooltip="The window at size x size."),
                io.Mask.Output(display_name="mask", tooltip="The hole mask at size x size (0/1)."),
            ],
        )

    @classmethod
    def execute(cls, image, mask, size) -> io.NodeOutput:
        size = check_int(size, "size", 8, defaults.MAX_WINDOW)
        if size % defaults.MULTIPLE:
            raise NPSInputError(f"size={size} must be a multiple of {defaults.MULTIPLE}; try {size - size % 8 or 8}.")
        core_image, core_mask = comfy_bridge.image_and_mask_to_core(image, mask, defaults.THRESHOLD)
        height, width = core_image.shape[-2:]
        if height != width:
            raise NPSInputError(
                f"image is {height}x{width} but NPS Pyramid Down works on square windows; "
                "put NPS Crop Window in front of it."
            )
        return io.NodeOutput(
            comfy_bridge.image_from_core(resize_image(core_image, size, mask=core_mask)),
            comfy_bridge.mask_from_core(downsample_mask(core_mask, size)),
        )


class NPSPyramidUp(io.ComfyNode):
    """Enlarges a level's result to the size of the next level (the start of its optimisation)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="NPSPyramidUp",
            display_name="NPS Pyramid Up",
            category=CATEGORY,
            description=(
                "Up-samples an image (bilinear) to the size of 'like', typically the result of one pyramid "
                "level to the next level's size, where it is the start and content target of NPS Optimize Scale."
            ),
            inputs=[
                io.Image.Input("image", tooltip="The result of the coarser level."),
                io.Image.Input("like", tooltip="Any image of the target size (e.g. the next level's window); "
                               "only its size is used."),
            ],
            outputs=[io.Image.Output(display_name="image",
                                     tooltip="'image' resized to the height and width of 'like'.")],
        )

    @classmethod
    def execute(cls, image, like) -> io.NodeOutput:
        core_image = comfy_bridge.image_to_core(image)
        if not hasattr(like, "shape") or like.dim() not in (3, 4):
            raise NPSInputError("like: connect an IMAGE whose size the result should take.")
        height, width = int(like.shape[-3]), int(like.shape[-2])
        return io.NodeOutput(comfy_bridge.image_from_core(resize_to(core_image, height, width)))


NODES = [NPSPyramidDown, NPSPyramidUp]
