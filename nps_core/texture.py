"""Texture term: every neural patch in the hole is pulled towards its nearest patch outside it.

`TextureSettings` is the typed object the ComfyUI nodes pass around (backbone, layers, patch
size, per-layer weights, match refresh rate). `LevelTexture` holds the state of one pyramid level:
the source patch banks (computed once per level from the whole window), the query positions, the
current matches and the crop of the image the features are recomputed on at every evaluation
(hole plus the backbone's receptive-field margin: features elsewhere cannot change).

Loss per layer and image: mean over query patches and patch elements of (q - nn(q))^2, divided by
the mean energy of that layer's source features, so weights transfer across backbones and sizes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch

from . import defaults
from .errors import NPSInputError
from .patches import (
    feature_mask,
    gather_patches,
    nearest_sources,
    normalise_rows,
    patch_centres,
    projection_basis,
    subsample,
)
from .window import hole_bbox

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_FAST_BF16 = None


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 dot products (avx512_bf16 or amx_bf16 in /proc/cpuinfo)."""
    global _FAST_BF16
    if _FAST_BF16 is None:
        try:
            with open("/proc/cpuinfo") as f:
                flags = set(f.read().split())
            _FAST_BF16 = bool({"avx512_bf16", "amx_bf16"} & flags)
        except OSError:
            _FAST_BF16 = False
    return _FAST_BF16


@dataclass
class TextureSettings:
    """Texture-loss configuration plus the loaded feature extractor.

    extractor: a `nps_core.backbones.FeatureExtractor` (frozen, on the compute device).
    layer_weights: one float per extractor layer. patch_size: odd patch side in feature cells.
    refresh_every: nearest neighbours are recomputed every this many evaluations (1 = every one).
    max_sources: cap on source patches per layer and image (evenly subsampled above it).
    chunk_elements: similarity-matrix elements computed at once while matching.
    crop: recompute features only on the hole plus margin (exact; False recomputes the whole level).
    precision: "fp32", "bf16", "fp16" (CUDA only) or "auto". Reduced precision runs the extractor
        under torch.autocast and the nearest-neighbour products in that dtype; the loss itself is
        always fp32. "auto": CUDA -> bf16 where supported, else fp16; CPU -> fp32 features (bf16
        autocast measured no faster there) and bf16 matching when the CPU has native bf16 dot
        products (AVX512-BF16/AMX; measured in bench/README.md).
    adaptive_refresh: when a refresh changes fewer than 1% of a layer's matches, that layer's next
        refresh comes twice as late (at most 4 x refresh_every); a larger change resets the interval.
    exhaustive_every: every this many refreshes (the first included) the search covers all source
        patches; the refreshes in between search only the sources currently matched by some query
        (a few thousand instead of the whole bank; a query's current match is always a candidate, so
        up to the matching precision they never pick a less similar source). 1 = every refresh exhaustive.
    match_dims: the searches compare patches by their projection on the bank's first match_dims
        principal directions (`patches.projection_basis`; per layer, level and image), D / match_dims
        times cheaper; the loss still uses the full matched patches. 0 = compare full patches (exact).
    """

    extractor: torch.nn.Module
    layer_weights: tuple
    patch_size: int = defaults.PATCH_SIZE
    refresh_every: int = defaults.REFRESH_EVERY
    max_sources: int = defaults.MAX_SOURCES
    chunk_elements: int = defaults.CHUNK_ELEMENTS
    crop: bool = defaults.CROP_FEATURES
    precision: str = defaults.PRECISION
    adaptive_refresh: bool = defaults.ADAPTIVE_REFRESH
    exhaustive_every: int = defaults.EXHAUSTIVE_EVERY
    match_dims: int = defaults.MATCH_DIMS

    def __post_init__(self):
        layers = tuple(self.extractor.layers)
        if len(self.layer_weights) != len(layers):
            raise NPSInputError(
                f"layer_weights has {len(self.layer_weights)} values but the texture layers are "
                f"{layers}; give one weight per layer."
            )
        if self.patch_size < 1 or self.patch_size % 2 == 0:
            raise NPSInputError(f"patch_size must be an odd number >= 1, got {self.patch_size}.")
        if self.refresh_every < 1:
            raise NPSInputError(f"refresh_every must be >= 1, got {self.refresh_every}.")
        if self.exhaustive_every < 1:
            raise NPSInputError(f"exhaustive_every must be >= 1, got {self.exhaustive_every}.")
        if self.match_dims < 0:
            raise NPSInputError(f"match_dims must be >= 0 (0 = compare full patches), got {self.match_dims}.")
        if self.precision not in PRECISIONS:
            raise NPSInputError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}.")

    @property
    def device(self) -> torch.device:
        return next(self.extractor.parameters()).device

    @property
    def layers(self) -> tuple:
        return tuple(self.extractor.layers)

    @property
    def compute_dtype(self) -> torch.dtype:
        """dtype the extractor and the matching run in on this device (see `precision`)."""
        device = self.device
        if self.precision == "fp32":
            return torch.float32
        if self.precision == "bf16":
            return torch.bfloat16
        if self.precision == "fp16":
            if device.type != "cuda":
                raise NPSInputError("precision 'fp16' needs a CUDA device; use 'bf16' or 'fp32' on CPU.")
            return torch.float16
        if device.type == "cuda":  # auto
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32

    @property
    def match_dtype(self) -> torch.dtype:
        """dtype of the nearest-neighbour similarity products (see `precision`)."""
        if self.precision == "auto" and self.device.type == "cpu":
            return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
        return self.compute_dtype

    def features(self, x: torch.Tensor) -> list:
        """Extractor maps of x [B,3,h,w] as float32, computed in `compute_dtype` (channels-last)."""
        dtype = self.compute_dtype
        x = x.contiguous(memory_format=torch.channels_last)
        if dtype == torch.float32:
            context = contextlib.nullcontext()
        else:
            context = torch.autocast(self.device.type, dtype=dtype)
        with context:
            maps = self.extractor(x)
        return [m.float() for m in maps]

    def describe(self) -> str:
        weights = ", ".join(f"{n}x{w:g}" for n, w in zip(self.layers, self.layer_weights, strict=True))
        label = getattr(self.extractor, "label", getattr(self.extractor, "name", "backbone"))
        return (f"{label}: layers {weights}; patch {self.patch_size}x{self.patch_size}; "
                f"matches refreshed every {self.refresh_every} evaluations"
                + (f", searched on {self.match_dims} principal dims" if self.match_dims else "")
                + f"; precision {self.precision}")


def parse_layers(text) -> tuple | None:
    """'relu3_1, relu4_1' -> ('relu3_1', 'relu4_1'); empty/None -> None (backbone defaults)."""
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        return tuple(text) or None
    names = tuple(p.strip() for p in str(text).replace(";", ",").split(",") if p.strip())
    return names or None


def make_texture_settings(
    backbone: str = defaults.BACKBONE,
    layers=None,
    layer_weights=None,
    patch_size: int = defaults.PATCH_SIZE,
    refresh_every: int = defaults.REFRESH_EVERY,
    weights_path: str | None = None,
    device="cpu",
    search_dirs=(),
    seed: int = 0,
    max_sources: int = defaults.MAX_SOURCES,
    crop: bool = defaults.CROP_FEATURES,
    precision: str = defaults.PRECISION,
    adaptive_refresh: bool = defaults.ADAPTIVE_REFRESH,
    exhaustive_every: int = defaults.EXHAUSTIVE_EVERY,
    match_dims: int = defaults.MATCH_DIMS,
) -> TextureSettings:
    """Load the backbone (cached) and bundle the texture settings.

    layers: names or a comma-separated string (None/empty = the backbone's defaults);
    layer_weights: floats or a comma-separated string (None = 1.0 each).
    The backbone is built outside inference mode so it can be differentiated through later.
    """
    from .backbones import load_backbone

    names = parse_layers(layers)
    with torch.inference_mode(False):
        extractor = load_backbone(
            backbone, layers=names, weights_path=weights_path, device=device,
            search_dirs=tuple(search_dirs), seed=seed,
        )
    if layer_weights is None or (isinstance(layer_weights, str) and not layer_weights.strip()):
        weights = tuple(1.0 for _ in extractor.layers)
    elif isinstance(layer_weights, str):
        try:
            weights = tuple(float(p) for p in layer_weights.replace(";", ",").split(",") if p.strip())
        except ValueError:
            raise NPSInputError(
                f"layer_weights must be comma-separated numbers like '1.0, 1.0', got {layer_weights!r}."
            ) from None
    else:
        weights = tuple(float(w) for w in layer_weights)
    return TextureSettings(
        extractor=extractor, layer_weights=weights, patch_size=int(patch_size),
        refresh_every=int(refresh_every), max_sources=int(max_sources), crop=bool(crop),
        precision=str(precision), adaptive_refresh=bool(adaptive_refresh),
        exhaustive_every=int(exhaustive_every), match_dims=int(match_dims),
    )


def _crop_box(mask: torch.Tensor, margin: int, align: int):
    """Pixel box (y0, y1, x0, x1) around all holes of mask [B,1,h,w], grown by margin, y0/x0 aligned."""
    h, w = mask.shape[-2:]
    top, left, bottom, right = hole_bbox(mask[:, 0].amax(dim=0) > 0.5)
    y0 = max(0, (top - margin) // align * align)
    x0 = max(0, (left - margin) // align * align)
    y1 = min(h, -(-(bottom + margin) // align) * align)
    x1 = min(w, -(-(right + margin) // align) * align)
    return y0, y1, x0, x1


@dataclass
class _LayerState:
    """Per layer and image: query centres (crop coordinates), source bank, matches."""

    queries: torch.Tensor          # [Q,2] long, centres in crop feature coordinates
    bank: torch.Tensor             # [S,D] unit-norm source patches
    norms: torch.Tensor            # [S] their original norms
    energy: float                  # mean squared source feature value
    match_bank: torch.Tensor | None = None  # bank as searched: projected and/or in the matching dtype (None: bank)
    basis: torch.Tensor | None = None       # [D,d] search projection (None: full patches)
    matches: torch.Tensor | None = None
    target_mean: torch.Tensor | None = None  # [C,h',w'] mean matched target per feature cell
    weight: torch.Tensor | None = None       # [1,h',w'] query-patch elements per cell
    residual: float = 0.0                    # constant part of the loss sum (see _target_maps)
    region: tuple = (0, 0, 0, 0)             # cells (y0, y1, x0, x1) covered by query patches
    elements: float = 1.0                    # Q * k*k*C (the mean's denominator)
    next_refresh: int = 0          # evaluation index of the next match refresh
    interval: int = 1              # current refresh interval (evaluations)
    refreshes: int = 0


@dataclass
class LevelTexture:
    """Texture loss at one pyramid level; build with `LevelTexture.build(settings, image, mask)`."""

    settings: TextureSettings
    box: tuple
    states: list                   # states[b][l] -> _LayerState or None (no query or no source)
    notes: list = field(default_factory=list)
    evaluations: int = 0

    @classmethod
    def build(cls, settings: TextureSettings, image: torch.Tensor, mask: torch.Tensor) -> "LevelTexture":
        """image [B,3,h,w] (current estimate, hole filled), mask [B,1,h,w]; both on the settings' device."""
        ext = settings.extractor
        k = settings.patch_size
        h, w = image.shape[-2:]
        top_stride = max(ext.strides)
        margin = int(ext.margin) + (k // 2) * top_stride
        box = _crop_box(mask, margin, top_stride) if settings.crop else (0, h, 0, w)
        if (box[1] - box[0]) * (box[3] - box[2]) > 0.8 * h * w:
            box = (0, h, 0, w)
        with torch.no_grad():
            feats = settings.features(image)
        match_dtype = settings.match_dtype
        states, notes = [], []
        for b in range(image.shape[0]):
            per_layer = []
            for li, (name, stride, feat) in enumerate(zip(ext.layers, ext.strides, feats, strict=True)):
                hole = feature_mask(mask[b : b + 1], feat.shape[-2:])[0]
                query, source = patch_centres(hole, k)
                source = subsample(source, settings.max_sources)
                if query.shape[0] == 0 or source.shape[0] == 0 or settings.layer_weights[li] == 0:
                    if query.shape[0] > 0 and source.shape[0] == 0:
                        notes.append(f"image {b}, {name}: no source patch outside the hole; texture term off")
                    per_layer.append(None)
                    continue
                raw = gather_patches(feat[b], source, k)
                norms = raw.norm(dim=1)
                energy = float(raw.pow(2).mean().clamp_min(1e-12))
                offset = torch.tensor([box[0] // stride, box[2] // stride], device=query.device)
                bank = normalise_rows(raw)
                basis = projection_basis(bank, settings.match_dims)
                searched = bank if basis is None else bank @ basis
                match_bank = searched.to(match_dtype) if (basis is not None or match_dtype != bank.dtype) else None
                per_layer.append(_LayerState(query - offset, bank, norms, energy, match_bank, basis,
                                             interval=settings.refresh_every))
            states.append(per_layer)
        return cls(settings=settings, box=box, states=states, notes=notes)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Texture loss of x [B,3,h,w] (differentiable).

        Matches are refreshed every `refresh_every` calls (with `adaptive_refresh`, a layer whose
        matches did not change at its last refresh waits up to 4x longer).
        """
        s = self.settings
        y0, y1, x0, x1 = self.box
        n = self.evaluations
        self.evaluations += 1
        feats = s.features(x[:, :, y0:y1, x0:x1])
        total = x.new_zeros(())
        counted = 0
        for b, per_layer in enumerate(self.states):
            used = False
            for li, st in enumerate(per_layer):
                if st is None:
                    continue
                feat = feats[li][b]
                if st.matches is None or n >= st.next_refresh:
                    self._refresh(st, gather_patches(feat.detach(), st.queries, s.patch_size), n)
                ry0, ry1, rx0, rx1 = st.region
                diff = feat[:, ry0:ry1, rx0:rx1] - st.target_mean
                term = (st.weight * diff * diff).sum() + st.residual
                total = total + s.layer_weights[li] * term / (st.elements * st.energy)
                used = True
            counted += int(used)
        return total / max(1, counted)

    def _target_maps(self, st: _LayerState, target: torch.Tensor) -> None:
        """Matched patches [Q, k*k*C] -> per-cell maps so the loss needs no patch gathering.

        sum_q |q - t_q|^2 = sum_cells W * |F - M|^2 + R, with W the number of query-patch elements
        on a cell, M the mean target value there and R = sum_q |t_q|^2 - sum_cells W |M|^2 (a
        constant until the next refresh). Same value as the patch form, O(feature map) per evaluation.
        """
        k = self.settings.patch_size
        r = k // 2
        ys, xs = st.queries[:, 0], st.queries[:, 1]
        ry0, rx0 = int(ys.min()) - r, int(xs.min()) - r
        ry1, rx1 = int(ys.max()) + r + 1, int(xs.max()) + r + 1
        h, w = ry1 - ry0, rx1 - rx0
        channels = target.shape[1] // (k * k)
        acc = torch.zeros(channels, h * w, dtype=torch.float64, device=target.device)
        count = torch.zeros(h * w, dtype=torch.float64, device=target.device)
        ones = torch.ones(ys.shape[0], dtype=torch.float64, device=target.device)
        energy = 0.0
        j = 0
        for dy in range(-r, r + 1):  # the column layout of gather_patches: (dy, dx) blocks of C
            for dx in range(-r, r + 1):
                block = target[:, j * channels : (j + 1) * channels].double()  # one block at a time
                idx = (ys + dy - ry0) * w + (xs + dx - rx0)
                acc.index_add_(1, idx, block.t())
                count.index_add_(0, idx, ones)
                energy += float(block.pow(2).sum())
                j += 1
                del block
        mean = acc / count.clamp_min(1.0)
        st.residual = energy - float((count * mean.pow(2).sum(0)).sum())
        st.target_mean = mean.view(channels, h, w).to(target.dtype)
        st.weight = count.view(1, h, w).to(target.dtype)
        st.region = (ry0, ry1, rx0, rx1)
        st.elements = float(target.numel())

    def _refresh(self, st: _LayerState, q: torch.Tensor, n: int) -> None:
        s = self.settings
        bank = st.bank if st.match_bank is None else st.match_bank
        if st.matches is None or st.refreshes % s.exhaustive_every == 0:
            matches = nearest_sources(q, bank, s.chunk_elements, st.basis)
        else:  # restricted: only sources some query uses now
            candidates = torch.unique(st.matches)
            matches = candidates[nearest_sources(q, bank[candidates], s.chunk_elements, st.basis)]
        changed = 1.0 if st.matches is None else float((matches != st.matches).float().mean())
        if s.adaptive_refresh and changed < 0.01:
            st.interval = min(st.interval * 2, 4 * s.refresh_every)
        else:
            st.interval = s.refresh_every
        st.matches = matches
        self._target_maps(st, st.bank[matches] * st.norms[matches, None])
        st.next_refresh = n + st.interval
        st.refreshes += 1
