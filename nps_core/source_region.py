"""More of the image as the synthesis's source: a canvas of the window plus the image around it.

The context window (2x the hole) is the paper's whole corpus; for a small hole in a large photo it
holds a thin ring of known pixels. `SourceRegion` keeps the part of the image around one run's
window (the window grown to `scale` x its side, clipped to the image) and builds, per pyramid level,
a canvas at that level's scale: the level's window exactly in the middle, the surrounding strips
resized to the same scale (their thickness rounded to `defaults.MULTIPLE` so feature cells stay
aligned with the window's). The synthesis runs on the canvas, with every hole of the full mask
outside the window blocked (never filled, never copied), and the window is cut back out. The L-BFGS
stage and the content network still see the window only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import defaults
from .pyramid import downsample_mask, resize_image


@dataclass
class LevelCanvas:
    """One level's canvas. image / reference [B,3,Hc,Wc] 0..1 (reference: the window's hole holds the
    level's estimate), fill [B,1,Hc,Wc] (1 = the window's hole, the pixels to synthesise), blocked
    bool [B,1,Hc,Wc] (holes outside the window: neither filled nor copied); the window lies at rows
    top..top+size, columns left..left+size."""

    image: torch.Tensor
    reference: torch.Tensor
    fill: torch.Tensor
    blocked: torch.Tensor
    top: int
    left: int
    size: int

    def window(self, x: torch.Tensor) -> torch.Tensor:
        """The window's part [B,C,size,size] of a canvas-shaped x [B,C,Hc,Wc]."""
        return x[..., self.top : self.top + self.size, self.left : self.left + self.size]


def _round_multiple(value: float, multiple: int) -> int:
    return int(round(value / multiple)) * multiple


@dataclass
class SourceRegion:
    """The image around one run's window, full resolution.

    image [B,3,h,w] float 0..1 and hole [B,1,h,w] float (1 = any hole of the item's full mask; its
    pixels are never sources) of the region; margins (top, bottom, left, right): px of the region on
    each side of the window (>= 0; 0 where the window meets or passes the image's edge); window: its
    side S. The region's rows margins[0]..margins[0]+S and columns margins[2]..margins[2]+S are the
    window (reflect-padded where it leaves the image, like the window itself).
    """

    image: torch.Tensor
    hole: torch.Tensor
    margins: tuple
    window: int

    @classmethod
    def around(cls, crop, image_hw: tuple, top: int, left: int, side: int, scale: float) -> "SourceRegion | None":
        """Region of the window (top, left, side) grown by (scale - 1) / 2 x side on every side and
        clipped to the image of size image_hw (H, W). crop(top, left, height, width) -> (images
        [B,3,height,width] float 0..1, holes [B,1,height,width] 0/1): the run's items cut from their
        full images (reflect-padded outside, as `nps_core.window.crop_box`). None when the region
        adds nothing (scale <= 1, or the window already covers the image)."""
        H, W = int(image_hw[0]), int(image_hw[1])
        grow = int(round((float(scale) - 1.0) / 2.0 * side))
        if grow <= 0:
            return None
        mt = max(0, min(grow, top))
        ml = max(0, min(grow, left))
        mb = max(0, min(grow, H - (top + side)))
        mr = max(0, min(grow, W - (left + side)))
        if mt + mb + ml + mr == 0:
            return None
        image, hole = crop(top - mt, left - ml, mt + side + mb, ml + side + mr)
        return cls(image=image.to(torch.float32), hole=hole.to(torch.float32), margins=(mt, mb, ml, mr), window=side)

    def level_margins(self, size: int) -> tuple:
        """The margins at a level whose window side is `size` px, rounded to defaults.MULTIPLE."""
        s = size / self.window
        return tuple(_round_multiple(m * s, defaults.MULTIPLE) for m in self.margins)

    def _strip(self, rows: slice, cols: slice, hw: tuple, device):
        img = self.image[..., rows, cols].to(device)
        hole = self.hole[..., rows, cols].to(device)
        return resize_image(img, hw, mask=hole), downsample_mask(hole, hw) > 0.5

    def canvas(self, image_l: torch.Tensor, mask_l: torch.Tensor, reference: torch.Tensor) -> LevelCanvas:
        """The level's canvas around image_l / mask_l / reference [B,*,size,size] (the window at this
        level: its known pixels, its hole, the estimate whose hole is synthesised)."""
        size = int(image_l.shape[-1])
        dev = image_l.device
        mt, mb, ml, mr = self.level_margins(size)
        Mt, Mb, Ml, Mr = self.margins
        S = self.window
        h_full, w_full = self.image.shape[-2:]
        B = image_l.shape[0]
        Hc, Wc = mt + size + mb, ml + size + mr
        image_c = torch.zeros(B, 3, Hc, Wc, dtype=image_l.dtype, device=dev)
        blocked = torch.zeros(B, 1, Hc, Wc, dtype=torch.bool, device=dev)
        strips = (
            ((slice(0, Mt), slice(0, w_full)), (slice(0, mt), slice(0, Wc))),
            ((slice(Mt + S, h_full), slice(0, w_full)), (slice(mt + size, Hc), slice(0, Wc))),
            ((slice(Mt, Mt + S), slice(0, Ml)), (slice(mt, mt + size), slice(0, ml))),
            ((slice(Mt, Mt + S), slice(Ml + S, w_full)), (slice(mt, mt + size), slice(ml + size, Wc))),
        )
        for (rows, cols), (out_rows, out_cols) in strips:
            hw = (out_rows.stop - out_rows.start, out_cols.stop - out_cols.start)
            if min(hw) <= 0:  # no margin on that side, or one that rounds to nothing at this level
                continue
            pixels, holes = self._strip(rows, cols, hw, dev)
            image_c[..., out_rows, out_cols] = pixels.to(image_c.dtype)
            blocked[..., out_rows, out_cols] = holes
        centre = (slice(mt, mt + size), slice(ml, ml + size))
        image_c[..., centre[0], centre[1]] = image_l
        reference_c = image_c.clone()
        reference_c[..., centre[0], centre[1]] = reference.to(image_c.dtype)
        fill = torch.zeros(B, 1, Hc, Wc, dtype=mask_l.dtype, device=dev)
        fill[..., centre[0], centre[1]] = mask_l
        return LevelCanvas(image_c, reference_c, fill, blocked, mt, ml, size)
