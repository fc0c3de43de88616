"""Context window: the square region around the hole in which all the work happens.

Following the paper's geometry (a 256 px hole inside a 512 px image), the window is centred on the
hole's bounding box with a side of about `scale` x the box's longer side, never smaller than
`min_size`, rounded up to a multiple of `multiple`. One side S is shared by the whole batch (so the
crops stack into one tensor); each image gets its own position. Where the window leaves the image
it is filled by reflection. The result is pasted back with `stitch_window`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import defaults
from .errors import NPSInputError
from .options import check_feather, check_float, check_int
from .validation import check_mask


@dataclass(frozen=True)
class ContextWindow:
    """Where each image's square window lies, in full-image pixel coordinates.

    size: window side S in pixels; tops/lefts: per batch item top-left corner (may be negative or
    reach past the image: those parts are reflect-padded); image_hw: (H, W) of the full image.
    """

    size: int
    tops: tuple
    lefts: tuple
    image_hw: tuple

    @property
    def batch(self) -> int:
        return len(self.tops)

    def describe(self) -> str:
        boxes = ", ".join(f"({t},{left})" for t, left in zip(self.tops, self.lefts, strict=True))
        return f"window {self.size}x{self.size} at top-left {boxes} in {self.image_hw[0]}x{self.image_hw[1]}"


def hole_bbox(mask_2d: torch.Tensor):
    """[H,W] mask -> (top, left, bottom, right) of its non-zero pixels (bottom/right exclusive), or None."""
    rows = torch.nonzero(mask_2d.any(dim=1)).flatten()
    if rows.numel() == 0:
        return None
    cols = torch.nonzero(mask_2d.any(dim=0)).flatten()
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def window_side(longest, scale: float, min_size: int, multiple: int):
    """Window side(s) for holes whose longer bounding-box side is `longest` (int or int array):
    ceil(scale x longest), at least min_size and longest + 2 x multiple, rounded up to `multiple`."""
    longest = np.asarray(longest, dtype=np.int64)
    side = np.maximum(np.maximum(np.ceil(scale * longest).astype(np.int64), int(min_size)), longest + 2 * multiple)
    return (-(-side // multiple)) * multiple


def window_corner(box, side):
    """Top-left corner(s) (top, left) of windows of `side` centred on box(es) (top, left, bottom,
    right) (ints or arrays; Python's round-half-to-even, as numpy)."""
    box = np.asarray(box, dtype=np.int64)
    cy, cx = (box[..., 0] + box[..., 2]) / 2.0, (box[..., 1] + box[..., 3]) / 2.0
    return np.round(cy - side / 2.0).astype(np.int64), np.round(cx - side / 2.0).astype(np.int64)


def check_window_settings(scale, min_size, multiple) -> tuple:
    """Checked (window_scale >= 1: the window holds the hole, min_size >= 8 px, multiple >= 1)."""
    scale = check_float(scale, "window_scale", 1.0, defaults.MAX_WINDOW_SCALE)
    min_size = check_int(min_size, "min_size", 8, defaults.MAX_WINDOW)
    multiple = check_int(multiple, "multiple", 1, defaults.MAX_WINDOW)
    return scale, min_size, multiple


def plan_boxes(boxes, scale: float = defaults.WINDOW_SCALE, min_size: int = defaults.MIN_WINDOW,
               multiple: int = defaults.MULTIPLE):
    """Windows for hole groups: boxes int [G,4] of (top, left, bottom, right) -> int64 [G,4] of the
    windows' (top, left, bottom, right), each planned like `plan_window` for that group alone."""
    scale, min_size, multiple = check_window_settings(scale, min_size, multiple)
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    side = window_side(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), scale, min_size, multiple)
    top, left = window_corner(boxes, side)
    return np.stack([top, left, top + side, left + side], axis=1)


def plan_window(
    mask: torch.Tensor,
    scale: float = defaults.WINDOW_SCALE,
    min_size: int = defaults.MIN_WINDOW,
    multiple: int = defaults.MULTIPLE,
) -> ContextWindow:
    """Plan the context window for a binary mask [B,1,H,W] (1 = hole).

    Side S = max over the batch of ceil(scale * longer bbox side), at least min_size, rounded up to a
    multiple of `multiple`. Items with an empty mask get a window centred on the image.
    """
    check_mask(mask)
    scale, min_size, multiple = check_window_settings(scale, min_size, multiple)
    H, W = int(mask.shape[-2]), int(mask.shape[-1])
    boxes = [hole_bbox(mask[b, 0] > 0.5) for b in range(mask.shape[0])]
    longest = max([max(bt - t, br - left) for (t, left, bt, br) in [b for b in boxes if b]] or [0])
    side = int(window_side(longest, scale, min_size, multiple))
    tops, lefts = [], []
    for box in boxes:
        top, left = window_corner(box if box is not None else (0, 0, H, W), side)
        tops.append(int(top))
        lefts.append(int(left))
    return ContextWindow(size=side, tops=tuple(tops), lefts=tuple(lefts), image_hw=(H, W))


def _reflect_index(start: int, length: int, size: int, device) -> torch.Tensor:
    """Indices start..start+length-1 of an axis of `size`, reflected at its edges (edge pixel not
    repeated, as F.pad's "reflect" applied as often as needed); a one-pixel axis repeats its pixel."""
    i = torch.arange(start, start + length, device=device)
    if size == 1:
        return torch.zeros_like(i)
    period = 2 * (size - 1)
    i = torch.remainder(i, period)
    return torch.where(i >= size, period - i, i)


def crop_box(x: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """Rows top..top+height, columns left..left+width of x [B,C,H,W] (any dtype) -> [B,C,height,width];
    the parts outside x are filled by reflection (periodic for boxes far outside). A view of x when the box lies
    inside it; otherwise only the rows and columns the box needs are read, so a small box of a huge
    image stays small."""
    H, W = int(x.shape[-2]), int(x.shape[-1])
    if top >= 0 and left >= 0 and top + height <= H and left + width <= W:
        return x[:, :, top : top + height, left : left + width]
    rows = _reflect_index(top, height, H, x.device)
    cols = _reflect_index(left, width, W, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def crop_window(x: torch.Tensor, window: ContextWindow) -> torch.Tensor:
    """Cut each item's window out of x [B,C,H,W] -> new tensor [B,C,S,S], reflect-padded outside the image."""
    if x.shape[0] != window.batch or tuple(x.shape[-2:]) != tuple(window.image_hw):
        raise NPSInputError(
            f"tensor {tuple(x.shape)} does not match the window ({window.describe()}); crop the same "
            f"image/mask the window was planned for."
        )
    S = window.size
    corners = zip(window.tops, window.lefts, strict=True)
    crops = [crop_box(x[b : b + 1], t, left, S, S) for b, (t, left) in enumerate(corners)]
    return torch.cat(crops, dim=0).contiguous()


def feather_alpha(mask: torch.Tensor, feather: int) -> torch.Tensor:
    """Blend weight [B,1,H,W] in 0..1: 1 inside the hole, fading to 0 over `feather` px outside it."""
    if feather <= 0:
        return mask
    k = 2 * int(feather) + 1
    grown = F.max_pool2d(mask, k, stride=1, padding=feather)
    soft = F.avg_pool2d(grown, k, stride=1, padding=feather, count_include_pad=False)
    return torch.maximum(mask, soft)


def paste_window(
    out: torch.Tensor,
    item: int,
    mask: torch.Tensor,
    result: torch.Tensor,
    top: int,
    left: int,
    feather: int = defaults.FEATHER,
) -> None:
    """Write one window's result into `out` in place (only the window's part inside the image).

    out: [B,3,H,W] float or uint8 (values 0..1 or 0..255), the caller's own copy of the image;
    item: its batch index; mask: the hole [1,H,W] or [1,1,H,W] (bool or 0/1; > 0.5 = hole) of that
    item; result: [3,S,S] float 0..1, the window whose top-left corner is (top, left). With feather
    = 0 only hole pixels change (known pixels stay bit-exact); feather > 0 also blends a band of that
    many pixels around the hole (computed from the mask around the window, as on the whole image).
    """
    from .inputs import like_source, unit_float

    feather = check_feather(feather)
    H, W = int(out.shape[-2]), int(out.shape[-1])
    S = int(result.shape[-1])
    mask = mask.reshape(1, 1, H, W)
    y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + S, H), min(left + S, W)
    if y0 >= y1 or x0 >= x1:
        return
    region = out[item, :, y0:y1, x0:x1]
    res = result[:, y0 - top : y1 - top, x0 - left : x1 - left].to(out.device)
    if feather <= 0:
        hole = mask[0, :, y0:y1, x0:x1].to(out.device) > 0.5
        region.copy_(torch.where(hole, like_source(res, out.dtype), region))
        return
    # the band of every hole pixel within 2 x feather of the window, clipped to the image as before
    m = 2 * int(feather)
    ay0, ax0, ay1, ax1 = max(y0 - m, 0), max(x0 - m, 0), min(y1 + m, H), min(x1 + m, W)
    near = mask[:, :, ay0:ay1, ax0:ax1].to(out.device, torch.float32)
    near = (near > 0.5).to(torch.float32)
    alpha = feather_alpha(near, feather)[0, :, y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0]
    blended = unit_float(region) * (1.0 - alpha) + res.to(torch.float32) * alpha
    region.copy_(torch.where(alpha > 0, like_source(blended, out.dtype), region))


def stitch_window(
    image: torch.Tensor,
    mask: torch.Tensor,
    result: torch.Tensor,
    window: ContextWindow,
    feather: int = defaults.FEATHER,
) -> torch.Tensor:
    """Paste the window result back into the full image.

    image [B,3,H,W] 0..1 (the original), mask [B,1,H,W] binary (1 = hole), result [B,3,s,s] (any s;
    resized to the window side S if needed). With feather = 0 every pixel where mask == 0 is copied
    bit-for-bit from `image`; feather > 0 also blends the result into a band of that many pixels
    around the hole. Returns a new tensor [B,3,H,W] on image's device.
    """
    feather = check_feather(feather)
    S = window.size
    result = result.to(device=image.device, dtype=torch.float32)
    if result.shape[-1] != S or result.shape[-2] != S:
        result = F.interpolate(result, size=(S, S), mode="bilinear", align_corners=False, antialias=True)
    if result.shape[0] != image.shape[0]:
        raise NPSInputError(
            f"result batch {result.shape[0]} does not match image batch {image.shape[0]}."
        )
    pasted = image.clone()
    for b, (t, left) in enumerate(zip(window.tops, window.lefts, strict=True)):
        paste_window(pasted, b, mask[b], result[b], t, left, feather)
    return pasted
