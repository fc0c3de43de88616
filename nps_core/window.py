"""Context window: the square region around the hole in which all the work happens.

Following the paper's geometry (a 256 px hole inside a 512 px image), the window is centred on the
hole's bounding box with a side of about `scale` x the box's longer side, never smaller than
`min_size`, rounded up to a multiple of `multiple`. One side S is shared by the whole batch (so the
crops stack into one tensor); each image gets its own position. Where the window leaves the image
it is filled by reflection. The result is pasted back with `stitch_window`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    scale = check_float(scale, "window_scale", 1.0, defaults.MAX_WINDOW_SCALE)  # >= 1: the window holds the hole
    min_size = check_int(min_size, "min_size", 8, defaults.MAX_WINDOW)
    multiple = check_int(multiple, "multiple", 1, defaults.MAX_WINDOW)
    H, W = int(mask.shape[-2]), int(mask.shape[-1])
    boxes = [hole_bbox(mask[b, 0] > 0.5) for b in range(mask.shape[0])]
    longest = max([max(bt - t, br - left) for (t, left, bt, br) in [b for b in boxes if b]] or [0])
    side = max(int(math.ceil(scale * longest)), int(min_size), longest + 2 * multiple)
    side = int(math.ceil(side / multiple) * multiple)
    tops, lefts = [], []
    for box in boxes:
        if box is None:
            cy, cx = H / 2.0, W / 2.0
        else:
            cy, cx = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
        tops.append(int(round(cy - side / 2.0)))
        lefts.append(int(round(cx - side / 2.0)))
    return ContextWindow(size=side, tops=tuple(tops), lefts=tuple(lefts), image_hw=(H, W))


def _reflect_pad(x: torch.Tensor, pad_lrtb: tuple) -> torch.Tensor:
    """Reflect padding that also works when a pad exceeds the image side (applied repeatedly); an
    axis of one pixel is replicated instead (reflection needs two). Each axis is padded on its own."""
    left, right, top, bottom = pad_lrtb
    while left > 0 or right > 0:
        w = x.shape[-1]
        if w < 2:
            x = F.pad(x, (left, right, 0, 0), mode="replicate")
            break
        step = (min(left, w - 1), min(right, w - 1))
        x = F.pad(x, (*step, 0, 0), mode="reflect")
        left, right = left - step[0], right - step[1]
    while top > 0 or bottom > 0:
        h = x.shape[-2]
        if h < 2:
            x = F.pad(x, (0, 0, top, bottom), mode="replicate")
            break
        step = (min(top, h - 1), min(bottom, h - 1))
        x = F.pad(x, (0, 0, *step), mode="reflect")
        top, bottom = top - step[0], bottom - step[1]
    return x


def _axis_span(start: int, length: int, size: int):
    """Rows (or columns) of an axis of `size` that a reflect-padded crop [start, start+length) reads,
    as (first, end, pad_before, pad_after)."""
    before, after = max(0, -start), max(0, start + length - size)
    first, end = max(0, start), min(size, start + length)
    if before and after:
        return 0, size, before, after
    if before:  # reflection about row 0 reads rows 1..before
        end = min(size, max(end, before + 1))
    if after:
        first = max(0, min(first, size - 1 - after))
    return first, end, before, after


def crop_box(x: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """Rows top..top+height, columns left..left+width of x [B,C,H,W] -> [B,C,height,width]; the parts
    outside x are filled by reflection (a view of x when the box lies inside it). Only the rows and
    columns the box and its reflection need are read, so a small box of a huge image stays small."""
    H, W = int(x.shape[-2]), int(x.shape[-1])
    y0, y1, pt, pb = _axis_span(top, height, H)
    x0, x1, pl, pr = _axis_span(left, width, W)
    part = x[:, :, y0:y1, x0:x1]
    if pt or pb or pl or pr:
        part = _reflect_pad(part, (pl, pr, pt, pb))
    y, xx = top + pt - y0, left + pl - x0
    return part[:, :, y : y + height, xx : xx + width]


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
    result = result.to(device=image.device, dtype=image.dtype)
    if result.shape[-1] != S or result.shape[-2] != S:
        result = F.interpolate(result, size=(S, S), mode="bilinear", align_corners=False, antialias=True)
    if result.shape[0] != image.shape[0]:
        raise NPSInputError(
            f"result batch {result.shape[0]} does not match image batch {image.shape[0]}."
        )
    H, W = window.image_hw
    pasted = image.clone()
    for b, (t, left) in enumerate(zip(window.tops, window.lefts, strict=True)):
        y0, x0, y1, x1 = max(t, 0), max(left, 0), min(t + S, H), min(left + S, W)
        pasted[b, :, y0:y1, x0:x1] = result[b, :, y0 - t : y1 - t, x0 - left : x1 - left]
    alpha = feather_alpha(mask.to(image.dtype), feather)
    if feather <= 0:
        return torch.where(alpha > 0.5, pasted, image)
    return image * (1.0 - alpha) + pasted * alpha
