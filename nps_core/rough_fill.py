"""A user's rough fill as the content: any inpainter's output (LaMa, MAT, a diffusion inpaint, a
hand-painted guide) replaces the content network's 128 px prediction.

The fill is given in the image's frame at any resolution ([B or 1,3,h,w] for an [B,3,H,W] image;
it is stretched to the image's size, so a fill of another aspect ratio is stretched too). For each
context window its part is cut out at the fill's own pixel density (`crop_for_window`); the pyramid
then starts at the level whose side is closest to that density (`start_level`), where the fill's
hole pixels are the level's starting point and content target. The fill is trusted for what it
knows (`FillBand`): every finer level matches source patches seen at the fill's resolution, and
its result is held to down-sample to the fill, so only detail above the fill's resolution is
synthesised. Only the fill's pixels under the hole are used.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import defaults
from .errors import NPSInputError
from .filters import gaussian_blur
from .inputs import as_bchw_image
from .pyramid import resize_image
from .window import ContextWindow, crop_box


def prepare_rough_fill(fill, batch: int, name: str = "content") -> torch.Tensor:
    """Check a rough fill -> float32 [batch or 1,3,h,w] in 0..1 on its own device.

    fill: [3,h,w] or [B,3,h,w] (C = 1 or 4 accepted as in `as_bchw_image`), finite; B must be 1 or
    the image batch `batch`.
    """
    if not isinstance(fill, torch.Tensor):
        raise NPSInputError(f"{name} must be a torch tensor [B,3,h,w] (a rough fill), got {type(fill).__name__}.")
    channels = fill.shape[-3] if fill.dim() in (3, 4) else 0
    if channels not in (1, 3, 4) or fill.shape[-1] < 1 or fill.shape[-2] < 1:
        raise NPSInputError(
            f"{name} must have shape [B,3,h,w] (a rough fill of the image, any resolution), got {tuple(fill.shape)}."
        )
    fill = as_bchw_image(fill, name=name)
    if fill.shape[0] not in (1, batch):
        raise NPSInputError(
            f"{name} has batch size {fill.shape[0]} but the image has {batch}; give one fill for all "
            f"images or exactly one per image."
        )
    return fill


def crop_for_window(fill: torch.Tensor, window: ContextWindow, items=None) -> torch.Tensor:
    """The part of `fill` [N or 1,3,h,w] that covers each window of `window`, at the fill's density.

    window: planned on the image (image_hw = (H, W)); items: for each window position, the batch
    index of `fill` to use (default 0..window.batch-1; a batch-1 fill serves every position). The
    window's square (S px of the image) covers S*h/H x S*w/W fill pixels; the result is
    [window.batch,3,rh,rw] with rh = round(S*h/H), rw = round(S*w/W), at most S (a finer fill is
    down-sampled with antialiasing), reflect-padded where the window leaves the image. A fill of
    the image's own size is cut out exactly (no resampling).
    """
    H, W = window.image_hw
    h, w = int(fill.shape[-2]), int(fill.shape[-1])
    S = window.size
    sy, sx = h / H, w / W
    rh, rw = min(S, max(1, round(S * sy))), min(S, max(1, round(S * sx)))
    items = list(range(window.batch)) if items is None else list(items)
    out = []
    for b, (t, left) in enumerate(zip(window.tops, window.lefts, strict=True)):
        src = fill[items[b] if fill.shape[0] > 1 else 0][None]
        if (h, w) == (H, W):
            out.append(crop_box(src, t, left, S, S))
            continue
        y0, x0 = math.floor(t * sy), math.floor(left * sx)
        y1, x1 = math.ceil((t + S) * sy), math.ceil((left + S) * sx)
        piece = crop_box(src, y0, x0, y1 - y0, x1 - x0)
        ch, cw = piece.shape[-2:]
        # The window as a rectangle of the piece in normalised coordinates (edges at -1 and 1);
        # antialiased shrinking below keeps those coordinates, so it can come first.
        ey, ex = S * sy, S * sx
        theta = torch.tensor([[ex / cw, 0.0, (2 * (left * sx - x0) + ex) / cw - 1.0],
                              [0.0, ey / ch, (2 * (t * sy - y0) + ey) / ch - 1.0]],
                             dtype=piece.dtype, device=piece.device)[None]
        if ch > 2 * rh or cw > 2 * rw:
            piece = F.interpolate(piece, size=(min(ch, 2 * rh), min(cw, 2 * rw)), mode="bilinear",
                                  align_corners=False, antialias=True)
        grid = F.affine_grid(theta, (1, 3, rh, rw), align_corners=False)
        out.append(F.grid_sample(piece, grid, mode="bilinear", padding_mode="border", align_corners=False))
    return torch.cat(out, dim=0).clamp(0.0, 1.0)


def start_level(sizes: list, fill_hw: tuple) -> int:
    """Index of the pyramid level (sides `sizes`, coarse to fine) closest to a window fill of
    fill_hw = (rh, rw) px: the nearest in log2 to its shorter side (ties: the coarser level, which
    refines more). A fill coarser than the coarsest level starts there; one at least the window's
    side starts at the finest level."""
    side = max(1, min(int(fill_hw[0]), int(fill_hw[1])))
    gaps = [abs(math.log2(size / side)) for size in sizes]
    return min(range(len(sizes)), key=lambda i: (round(gaps[i], 9), i))


class FillBand:
    """The band of a rough fill that the refine path holds at every level above the fill's own.

    fill: the window's rough fill [B,3,h,w] 0..1 at its own density (`crop_for_window`);
    window_mask: [B,1,S,S] (1 = hole); max_side (<= S): the band's resolution cap in px (a fill finer than
    that, e.g. a full-resolution LaMa output, is held only up to it so detail above can be
    synthesised). The held fill is `fill` shrunk (antialiased) to at most max_side; `side` is its
    shorter side. `hold(x)` makes x's hole agree with it: x down-sampled to the fill's size matches
    the fill, compared through a Gaussian blur of `sigma` fill pixels, on every fill pixel at least
    one fill pixel inside the hole (back-projection: the blurred down-sampled residual is up-sampled and added,
    `rounds` times). So the refined fill keeps what the rough fill knows, except its top octave
    (pixel-level colour noise that would show as blotches), and the detail above comes from the
    texture stage. sigma 0 = exact consistency with the fill.
    """

    def __init__(self, fill: torch.Tensor, window_mask: torch.Tensor, max_side: int, rounds: int = 10,
                 sigma: float = defaults.REFINE_HOLD_SIGMA):
        h, w = int(fill.shape[-2]), int(fill.shape[-1])
        scale = min(1.0, max_side / max(1, min(h, w)))
        if scale < 1.0:
            fill = resize_image(fill, (max(1, round(h * scale)), max(1, round(w * scale))))
        self.fill = fill.float()
        self.side = int(min(self.fill.shape[-2:]))
        self.rounds, self.sigma = rounds, sigma
        # share of each fill pixel's area that is hole (the held fill is never finer than the window)
        share = F.adaptive_avg_pool2d((window_mask > 0.5).float(), tuple(self.fill.shape[-2:]))
        # held: fill pixels whose down-sampling footprint (about 1 fill px around them) is all hole;
        # nearer the border the fill would be matched against known pixels and overshoot into a line
        inside = (share > 0.999).float()
        self.inside = -F.max_pool2d(-inside, 3, stride=1, padding=1)

    def knows(self, size: int) -> bool:
        """True when a level of side `size` px is no finer than the held fill: nothing to synthesise."""
        return size <= self.side

    def guide(self, image: torch.Tensor, mask: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """What matching should see at a level: image [B,3,s,s] 0..1 (known pixels used), mask
        [B,1,s,s] (1 = hole), reference [B,3,s,s] (the level's start, holding the fill's band) ->
        [B,3,s,s]: the known pixels blurred to the fill's resolution (down-sampled hole-agnostically,
        then up), the hole = the reference blurred the same way, so hole and source patches are
        compared at the detail the fill actually has."""
        hw = tuple(self.fill.shape[-2:])
        size = tuple(image.shape[-2:])
        known = resize_image(resize_image(image, hw, mask=mask), size)
        hole = resize_image(resize_image(reference, hw), size)
        return torch.where(mask.to(image.device) > 0.5, hole, known)

    def hold(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B,3,s,s] 0..1, mask [B,1,s,s] (1 = hole) -> x with the fill's band in the hole
        (same device and dtype, clamped to 0..1; known pixels unchanged)."""
        fill = self.fill.to(x.device, x.dtype)
        inside = self.inside.to(x.device, x.dtype)
        hole = mask.to(x.device) > 0.5
        hw = tuple(fill.shape[-2:])
        for _ in range(self.rounds):
            down = F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=True)
            residual = gaussian_blur((fill - down) * inside, self.sigma) * inside
            up = F.interpolate(residual, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
            x = torch.where(hole, x + up, x)
        return x.clamp(0.0, 1.0)
