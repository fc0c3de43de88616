"""Coherent neural-patch matching and pixel voting: the synthesis step of each pyramid level.

The texture term alone pulls every hole patch towards the *mean* of the overlapping matched
patches, which blurs wherever neighbouring matches disagree. Patch methods are sharp because their
nearest-neighbour fields are coherent (neighbours copy from neighbouring sources), are carried from
coarse to fine scales, and the pixels are rebuilt by voting from those copies. This module does the
same on the texture network's neural patches (one feature layer, stride s px per cell):

- match fields (`nps_core.match_field`): exhaustive nearest neighbours at the coarsest level, the
  coarser level's field carried to finer ones, PatchMatch-style coherence refinement;
- `refine_shifts`: optional single-pixel alignment of each match;
- `vote_pixels`: every hole pixel becomes the mean of the pixels the matched patches covering it
  propose (for a coherent field they agree, so the copy is sharp).

`Synthesiser.level` runs (carry or match) -> refine -> vote a few times (an EM loop) on one level,
the first match on the hole plus noise (`query_noise`: a blurred estimate otherwise matches blurred
sources), then refines the copies to single-pixel patches (`nps_core.pixel_synthesis`) at the finer
levels; the per-level L-BFGS then starts from the result. Neural offsets are multiples of the stride.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import defaults
from .errors import NPSInputError
from .filters import gaussian_blur
from .match_field import (
    MatchField,
    exhaustive_field,
    hole_cells,
    pair_similarity,
    patch_descriptors,
    refine_field,
    upsample_field,
)
from .options import check_float
from .pixel_synthesis import field_from_cells, synthesise_pixels


def _block_grid(corner: torch.Tensor, side: int):
    """Pixel rows/cols [Q,side,side] of the side x side blocks whose top-left corners are corner [Q,2]."""
    a = torch.arange(side, device=corner.device)
    ys = corner[:, 0, None, None] + a[None, :, None]
    xs = corner[:, 1, None, None] + a[None, None, :]
    return ys.expand(-1, side, side), xs.expand(-1, side, side)


def refine_shifts(image: torch.Tensor, known_px: torch.Tensor, field: MatchField, k: int,
                  search: int) -> torch.Tensor:
    """Single-pixel displacements around each match's cell displacement.

    image [3,H,W] 0..1 (current estimate), known_px bool [H,W]. For every query, the pixel block of
    its k x k patch is compared (sum of squared differences) with the source block at the cell
    displacement plus every (dy, dx) in [-search, search]^2; candidates whose source block leaves
    the image or touches the hole are skipped. Returns long [Q,2] pixel shifts (neural patches place
    a copy to within a cell; this aligns thin lines and edges exactly).
    """
    s = field.stride
    _, H, W = image.shape
    base = (field.sources - field.queries) * s
    if search <= 0:
        return base
    side = k * s
    qy, qx = _block_grid((field.queries - k // 2) * s, side)
    q_in = (qy >= 0) & (qy < H) & (qx >= 0) & (qx < W)
    flat = image.reshape(3, -1)
    qv = flat[:, (qy.clamp(0, H - 1) * W + qx.clamp(0, W - 1))] * q_in
    best = torch.full((base.shape[0],), float("inf"), device=image.device)
    best_shift = base.clone()
    known_flat = known_px.reshape(-1)
    for ey in range(-search, search + 1):
        for ex in range(-search, search + 1):
            shift = base + torch.tensor([ey, ex], device=base.device)
            sy, sx = qy + shift[:, 0, None, None], qx + shift[:, 1, None, None]
            inside = (sy >= 0) & (sy < H) & (sx >= 0) & (sx < W)
            idx = sy.clamp(0, H - 1) * W + sx.clamp(0, W - 1)
            ok = (inside | ~q_in).flatten(1).all(1) & (known_flat[idx] | ~q_in).flatten(1).all(1)
            ssd = ((flat[:, idx] * q_in - qv) ** 2).sum(dim=(0, 2, 3))
            ssd = torch.where(ok, ssd, torch.full_like(ssd, float("inf")))
            better = ssd < best
            best = torch.where(better, ssd, best)
            best_shift = torch.where(better[:, None], shift, best_shift)
    return best_shift


def vote_pixels(image: torch.Tensor, hole_px: torch.Tensor, field: MatchField, k: int,
                falloff: float = 0.0) -> torch.Tensor:
    """Rebuild the hole of one image from its match field.

    image [3,H,W] 0..1; hole_px bool [H,W]. Every query patch proposes, for each of its k x k
    cells, that cell's s x s pixel block copied from its pixel shift; a hole pixel becomes the mean
    of its proposals, weighted exp(-d^2 / 2 falloff^2) by the cell distance d from the proposing
    patch's centre (falloff 0 = equal weights). Returns [3,H,W]: known pixels and hole pixels without
    proposals unchanged.
    """
    s = field.stride
    _, H, W = image.shape
    flat = image.reshape(3, -1)
    acc = torch.zeros_like(flat)
    count = torch.zeros(H * W, dtype=image.dtype, device=image.device)
    shift = field.pixel_shift()
    r = k // 2
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            corner = (field.queries + torch.tensor([dy, dx], device=shift.device)) * s
            ty, tx = _block_grid(corner, s)
            sy, sx = ty + shift[:, 0, None, None], tx + shift[:, 1, None, None]
            ok = (ty >= 0) & (ty < H) & (tx >= 0) & (tx < W) & (sy >= 0) & (sy < H) & (sx >= 0) & (sx < W)
            t_idx = (ty * W + tx)[ok]
            weight = 1.0 if falloff <= 0 else math.exp(-(dy * dy + dx * dx) / (2 * falloff ** 2))
            acc.index_add_(1, t_idx, flat[:, (sy * W + sx)[ok]] * weight)
            count.index_add_(0, t_idx, torch.full_like(t_idx, weight, dtype=image.dtype))
    voted = (acc / count.clamp_min(1e-12)).view_as(image)
    return torch.where(hole_px & (count.view(H, W) > 0), voted, image)


@dataclass
class SynthesisSettings:
    """How each level is synthesised before its L-BFGS (see the module docstring).

    steps / first_steps: EM steps per level / at the coarsest level (both 0 = off: the paper's
    plain optimisation from the up-sampled coarser result). rounds, bonus, random_candidates:
    `refine_field`. colour_weight: `patch_descriptors`. low_band_sigma: px, `keep_low_band` (0 =
    keep the voted image as it is). layer: index of the texture layer that matches and votes.
    pixel_search: px, `refine_shifts`. vote_falloff: cells, `vote_pixels`. rematch: at finer levels
    also search all sources and keep, per query, whichever of that and the carried match fits
    better. query_noise: std of the Gaussian noise added to the hole (0..1 pixel scale) before
    each level's first match, never to the votes. pixel_steps / pixel_radius / pixel_rounds /
    pixel_dims / pixel_weighted / pixel_sharpness (refine_sharpness when refining a rough fill;
    thin holes vote with 1): the pixel-patch stage
    (`nps_core.pixel_synthesis`) at levels from pixel_from_level on (0 = the coarsest;
    pixel_steps 0 = off); neural_vote False: at those levels
    the neural field only starts the pixel stage (one match, no cell vote), as for every item whose
    hole is thin at that level (`hole_depth` <= thin_depth px; thin holes also get no query noise).
    match_border: each finer level starts from the coarser result made to meet its known pixels
    (`nps_core.border_match`). source_scale: the synthesis copies from the window grown to this
    many times its side, clipped to the image (`nps_core.source_region`; 1 = the window only, as
    the paper). seed: random search and noise.
    `SynthesisSettings.plain()` is the paper's plain optimisation.
    """

    steps: int = defaults.SYNTHESIS_STEPS
    first_steps: int = defaults.SYNTHESIS_FIRST_STEPS
    rounds: int = defaults.COHERENCE_ROUNDS
    bonus: float = defaults.COHERENCE_BONUS
    colour_weight: float = defaults.COLOUR_WEIGHT
    low_band_sigma: float = defaults.LOW_BAND_SIGMA
    layer: int = defaults.SYNTHESIS_LAYER
    random_candidates: int = 2
    pixel_search: int = defaults.PIXEL_SEARCH
    vote_falloff: float = defaults.VOTE_FALLOFF
    rematch: bool = defaults.REMATCH
    pixel_steps: int = defaults.PIXEL_PATCH_STEPS
    pixel_radius: int = defaults.PIXEL_PATCH_RADIUS
    pixel_rounds: int = defaults.PIXEL_PATCH_ROUNDS
    pixel_dims: int = defaults.PIXEL_PATCH_DIMS
    pixel_from_level: int = 1
    pixel_weighted: bool = True
    pixel_sharpness: float = defaults.PIXEL_VOTE_SHARPNESS
    refine_sharpness: float = defaults.REFINE_VOTE_SHARPNESS
    neural_vote: bool = True
    thin_depth: int = defaults.THIN_HOLE_DEPTH
    match_border: bool = defaults.MATCH_BORDER
    query_noise: float = defaults.QUERY_NOISE
    source_scale: float = defaults.SOURCE_SCALE
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "first_steps", "rounds", "random_candidates", "layer", "pixel_search",
                     "pixel_steps", "pixel_radius", "pixel_rounds", "pixel_dims", "pixel_from_level", "thin_depth"):
            value = getattr(self, name)
            try:
                ok = operator.index(value) >= 0
            except TypeError:
                ok = False
            if not ok:
                raise NPSInputError(f"synthesis {name} must be an integer >= 0, got {value!r}.")
        for name in ("bonus", "colour_weight", "low_band_sigma", "vote_falloff", "query_noise", "pixel_sharpness",
                     "refine_sharpness"):
            try:
                value = float(getattr(self, name))
            except (TypeError, ValueError):
                value = float("nan")
            if not value >= 0 or value == float("inf"):
                raise NPSInputError(f"synthesis {name} must be a finite number >= 0, got {getattr(self, name)}.")
        check_float(self.source_scale, "synthesis source_scale (1 = the context window only)", 1.0,
                    defaults.MAX_WINDOW_SCALE)

    @classmethod
    def plain(cls, seed: int = 0) -> "SynthesisSettings":
        """The paper's plain per-level optimisation: no synthesis, no pixel patches, each level
        starting from the up-sampled coarser result as it is."""
        return cls(steps=0, first_steps=0, pixel_steps=0, match_border=False, seed=seed)

    @property
    def enabled(self) -> bool:
        return self.steps > 0 or self.first_steps > 0

    def describe(self) -> str:
        if not self.enabled:
            return "synthesis off (plain optimisation)" + ("" if not self.match_border else ", levels meet the border")
        side = 2 * self.pixel_radius + 1
        pixel = "" if not self.pixel_steps else (
            f", pixel patches {side}x{side} x {self.pixel_steps} steps (vote sharpness "
            f"{self.pixel_sharpness:g}, {self.refine_sharpness:g} refining a rough fill)")
        return (f"synthesis: {self.first_steps}/{self.steps} EM steps (coarsest/others), {self.rounds} coherence "
                f"rounds, bonus {self.bonus:g}, colour {self.colour_weight:g}, query noise {self.query_noise:g}, "
                f"low band sigma {self.low_band_sigma:g} px{pixel}"
                + (f", source {self.source_scale:g}x the window" if self.source_scale > 1 else ""))


class Synthesiser:
    """EM synthesis across one window's pyramid; keeps each image's match field from level to level.

    texture: TextureSettings (extractor, patch size, max_sources, device); settings: SynthesisSettings.
    Call `level` once per pyramid level, coarse to fine.
    """

    def __init__(self, texture, settings: SynthesisSettings | None = None, refine: bool = False):
        self.texture = texture
        self.settings = settings if settings is not None else SynthesisSettings()
        # refine: the window's content is a user's rough fill (inpaint(content=...))
        self.sharpness = self.settings.refine_sharpness if refine else self.settings.pixel_sharpness
        layers = len(texture.extractor.layers)
        if self.settings.layer >= layers:
            raise NPSInputError(f"synthesis layer {self.settings.layer} does not exist: the texture backbone "
                                f"has {layers} layer(s) ({', '.join(texture.extractor.layers)}).")
        self.fields = None
        self.levels_done = 0
        self.generator = torch.Generator(device=texture.device).manual_seed(int(self.settings.seed))

    def _field(self, feat, image, hole_px, previous, blocked_px=None):
        t, cfg = self.texture, self.settings
        k = t.patch_size
        shape = tuple(feat.shape[-2:])
        queries, source, valid = hole_cells(hole_px, shape, k, blocked_px)
        if queries.shape[0] == 0 or source.shape[0] == 0:
            return None
        stride = t.extractor.strides[cfg.layer]
        desc = patch_descriptors(feat, image, stride, k, cfg.colour_weight)
        if previous is not None and previous.shape != shape:
            sources, ok = upsample_field(previous, queries, shape, valid)
            if cfg.rematch:  # a fresh exhaustive match where it fits this level better than the carried one
                fresh = exhaustive_field(desc, shape, queries, source, t.max_sources, t.chunk_elements)
                w = shape[1]
                better = pair_similarity(desc, w, queries, fresh) > pair_similarity(desc, w, queries, sources)
                sources = torch.where((better | ~ok)[:, None], fresh, sources)
            elif not bool(ok.all()):
                sources[~ok] = exhaustive_field(desc, shape, queries[~ok], source, t.max_sources, t.chunk_elements)
        elif previous is not None:  # the same level's previous EM step: same queries
            sources = previous.sources
        else:
            sources = exhaustive_field(desc, shape, queries, source, t.max_sources, t.chunk_elements)
        sources, sim = refine_field(desc, shape, queries, sources, valid, cfg.rounds, cfg.bonus,
                                    cfg.random_candidates, self.generator)
        field = MatchField(queries, sources, sim, shape, stride)
        known_px = ~hole_px if blocked_px is None else ~(hole_px | blocked_px)
        field.shift = refine_shifts(image, known_px, field, k, min(cfg.pixel_search, stride // 2))
        return field

    def _pixel_level(self, x, hole_px, field, thin=False, blocked_px=None):
        cfg = self.settings
        if field is None or not bool(hole_px.any()):
            return x
        queries = hole_px.nonzero()
        offsets = field_from_cells(queries, field.queries, field.pixel_shift(), field.stride, tuple(hole_px.shape))
        out, _ = synthesise_pixels(x, hole_px, offsets, cfg.pixel_radius, cfg.pixel_steps, cfg.pixel_rounds,
                                   self.generator, cfg.pixel_dims, cfg.pixel_weighted,
                                   1.0 if thin else self.sharpness, blocked_px)
        return out

    @torch.no_grad()
    def level(self, image: torch.Tensor, mask: torch.Tensor, reference: torch.Tensor,
              finest: bool = False, guide: torch.Tensor | None = None,
              blocked: torch.Tensor | None = None) -> torch.Tensor:
        """Synthesise one level.

        image [B,3,H,W] 0..1 (its known pixels are used), mask [B,1,H,W] (1 = hole), reference
        [B,3,H,W]: the content fill (coarsest level) or the up-sampled coarser result; finest: this
        is the window's last level (the pixel stage runs there even if it is also the first); guide:
        optional [B,3,H,W] 0..1 that the first match sees instead of the noisy probe (refining a
        rough fill: `nps_core.rough_fill.FillBand.guide`); blocked: optional bool [B,1,H,W] of pixels
        that are neither filled nor copied (a `nps_core.source_region` canvas's other holes).
        Returns [B,3,H,W] float32 on image's device: known pixels from image; hole = voted copy whose
        low band (low_band_sigma) is the reference's. Returns the reference's hole when disabled.
        """
        t, cfg = self.texture, self.settings
        hole_px = (mask[:, 0] > 0.5).to(t.device)
        blocked_px = None if blocked is None else blocked[:, 0].to(t.device)
        ref = torch.where(hole_px[:, None], reference.to(t.device), image.to(t.device)).float()
        steps = cfg.first_steps if self.levels_done == 0 else cfg.steps
        level_index = self.levels_done
        self.levels_done += 1
        x = ref
        pixel_level = cfg.pixel_steps > 0 and (level_index >= cfg.pixel_from_level or finest)
        # thin holes (every pixel near the border): no noise, and at pixel levels no cell vote
        thin = [hole_depth(hole_px[b], cfg.thin_depth) <= cfg.thin_depth for b in range(x.shape[0])]
        cell_vote = [not (pixel_level and (thin[b] or not cfg.neural_vote)) for b in range(x.shape[0])]
        if not any(cell_vote):
            steps = min(steps, 1)  # one match to start the pixel stage
        noisy = torch.tensor([not t_ for t_ in thin], device=x.device)[:, None, None, None]
        for step in range(steps):
            probe = x
            if step == 0 and guide is not None:  # match what the rough fill knows: sources seen at its resolution
                probe = guide.to(x.device, x.dtype)
            elif step == 0 and cfg.query_noise > 0:  # break the pull of blurred queries towards blurred sources
                noise = torch.randn(x.shape, generator=self.generator, device=x.device) * cfg.query_noise
                probe = torch.where(hole_px[:, None] & noisy, (x + noise).clamp(0, 1), x)
            feat = t.features(probe)[cfg.layer]
            colours = probe if guide is not None and step == 0 else x  # the descriptors' colours: never the noise
            fields, out = [], []
            for b in range(x.shape[0]):
                previous = self.fields[b] if self.fields is not None else None
                field = self._field(feat[b], colours[b], hole_px[b], previous,
                                    None if blocked_px is None else blocked_px[b])
                fields.append(field)
                if field is None or not cell_vote[b]:
                    out.append(x[b])
                else:
                    out.append(vote_pixels(x[b], hole_px[b], field, t.patch_size, cfg.vote_falloff))
            self.fields = fields
            x = torch.stack(out)
        if steps > 0 and pixel_level:
            x = torch.stack([self._pixel_level(x[b], hole_px[b], self.fields[b], thin[b],
                                               None if blocked_px is None else blocked_px[b])
                             for b in range(x.shape[0])])
        if steps > 0 and cfg.low_band_sigma > 0:
            x = keep_low_band(x, ref, hole_px[:, None].float(), cfg.low_band_sigma)
        return x.to(image.device)


def hole_depth(hole_px: torch.Tensor, limit: int) -> int:
    """How many px the hole bool [H,W] reaches inside (chessboard distance to the nearest known
    pixel, max over the hole), counted up to limit + 1: the number of 3x3 erosions it survives."""
    m = hole_px[None, None].float()
    depth = 0
    while depth <= limit and bool(m.any()):
        m = -F.max_pool2d(-m, 3, stride=1, padding=1)
        depth += 1
    return depth


def keep_low_band(x: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """Replace the hole's low frequencies of x by those of reference, keep x's detail.

    x, reference [B,3,H,W] 0..1 with the same known pixels; mask [B,1,H,W] (1 = hole). The
    correction is the hole-weighted Gaussian blur (sigma px) of reference - x over hole pixels
    only, so next to the border the fill meets the coarser level's colours fully. Returns
    [B,3,H,W] clamped to 0..1, known pixels from x.
    """
    hole = (mask > 0.5).to(x.dtype)
    diff = (reference - x) * hole
    weight = gaussian_blur(hole, sigma).clamp_min(1e-6)
    correction = gaussian_blur(diff, sigma) / weight
    return torch.where(hole > 0.5, (x + correction).clamp(0, 1), x)
