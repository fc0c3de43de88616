"""The whole method, coarse to fine: window -> pyramid -> content network -> per-level optimisation -> stitch.

`inpaint()` is the Python API; the all-in-one ComfyUI node and the command line call it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from . import defaults
from .border_match import match_border
from .errors import NPSInputError, NPSOptionError, NPSOutOfMemoryError
from .holes import group_windows, hole_boxes
from .inputs import hole_mask, image_source, pair_batch, unit_float
from .optimize import ScaleReport, optimize_scale
from .options import check_inpaint_options
from .pyramid import downsample_mask, level_sizes, resize_image
from .rough_fill import FillBand, crop_for_window, prepare_rough_fill, start_level
from .source_region import SourceRegion
from .synthesis import Synthesiser, SynthesisSettings
from .window import ContextWindow, crop_box, paste_window, plan_boxes


@dataclass
class WindowRun:
    """One context window of a run: items (batch indices filled together, whose holes share this
    window), window (ContextWindow; one position per item), levels (its ScaleReports), seconds."""

    items: tuple
    window: ContextWindow
    levels: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class InpaintResult:
    """image: [B,3,H,W] on the input's device, float32 0..1 (uint8 0..255 for a uint8 input);
    windows: a WindowRun per context window (one per group of holes, per batch item); levels: every
    window's ScaleReports in order; window: the first window's ContextWindow (None when nothing was
    filled); seconds: wall time; synthesis: the SynthesisSettings used."""

    image: torch.Tensor
    levels: list = field(default_factory=list)
    window: ContextWindow | None = None
    seconds: float = 0.0
    synthesis: SynthesisSettings | None = None
    windows: list = field(default_factory=list)

    def describe(self) -> str:
        lines = [] if self.windows else ["empty mask: image returned unchanged"]
        if self.synthesis is not None and self.windows:
            lines.append(self.synthesis.describe())
        for i, run in enumerate(self.windows):
            prefix = f"window {i + 1}/{len(self.windows)} " if len(self.windows) > 1 else ""
            items = f" (items {', '.join(map(str, run.items))})" if len(run.items) > 1 or run.items != (0,) else ""
            lines.append(f"{prefix}{run.window.describe()}{items}, {run.seconds:.1f} s")
            lines += [f"{prefix}level {j}: {r.describe()}" for j, r in enumerate(run.levels)]
        for r in self.levels:
            lines += [f"note: {n}" for n in r.notes]
        lines.append(f"total {self.seconds:.1f} s")
        return "\n".join(lines)


def synthesis_for_steps(steps: int, seed: int = 0, source_scale: float = defaults.SOURCE_SCALE) -> SynthesisSettings:
    """SynthesisSettings from the user-facing values (NPS Inpaint node, command line).

    steps: EM synthesis steps per pyramid level after the coarsest, which runs
    defaults.SYNTHESIS_FIRST_STEPS (its matches start from scratch); 0 = the paper's plain
    optimisation, `SynthesisSettings.plain()` (0..defaults.MAX_SYNTHESIS_STEPS). seed: the synthesis's random search
    (0..2**63 - 1). source_scale: the synthesis copies from the context window grown to this many
    times its side (1..defaults.MAX_WINDOW_SCALE; `nps_core.source_region`). Everything else is
    default. Bad values raise NPSOptionError.
    """
    from .options import check_float, check_int

    steps = check_int(steps, "synthesis_steps", 0, defaults.MAX_SYNTHESIS_STEPS)
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    source_scale = check_float(source_scale, "source_scale", 1.0, defaults.MAX_WINDOW_SCALE)
    if steps == 0:
        return SynthesisSettings.plain(seed=seed)
    return SynthesisSettings(steps=steps, first_steps=defaults.SYNTHESIS_FIRST_STEPS, seed=seed,
                             source_scale=source_scale)


def content_fill(model, image: torch.Tensor, mask: torch.Tensor, views: int = defaults.CONTENT_VIEWS) -> torch.Tensor:
    """Content network prediction composited into the hole.

    image [B,3,h,w] 0..1, mask [B,1,h,w] binary; model: a content network (`nps_core.content`; any
    device, inputs are moved to it); views: 1, 2, 4 or 8 flipped / transposed views averaged
    (`predict_content`; 1 = the paper's single pass). Returns [B,3,h,w] on image's device: known
    pixels exact, hole from the network.
    """
    from .content import predict_content

    device = next(model.parameters()).device
    pred = predict_content(model, image.to(device), mask.to(device), views).to(image.device, image.dtype)
    return torch.where(mask > 0.5, pred.clamp(0, 1), image)


def resolve_content_net(content_net, device):
    """None -> shipped weights; str/path -> that file; a module -> itself. Loaded models are cached."""
    from .content import load_content_net

    if content_net is None or isinstance(content_net, (str, bytes)) or hasattr(content_net, "__fspath__"):
        with torch.inference_mode(False):
            return load_content_net(content_net, device=device)
    return content_net


def check_masks(mask: torch.Tensor) -> torch.Tensor:
    """Hole mask [B,1,H,W] (bool, or binary float) -> bool [B] of items that have a hole; full masks
    are an error."""
    hole = mask if mask.dtype == torch.bool else mask > 0.5
    full = [b for b in range(hole.shape[0]) if bool(hole[b].all())]
    if full:
        raise NPSInputError(
            f"mask covers the whole image (batch item(s) {full}): the method fills a hole from its "
            f"surroundings and needs some known pixels. Shrink the mask or check that it is not inverted "
            f"(1 = fill)."
        )
    return torch.tensor([bool(hole[b].any()) for b in range(hole.shape[0])], dtype=torch.bool)


def plan_runs(mask: torch.Tensor, batch: int, scale: float, min_size: int) -> list:
    """Context windows for every hole group of every item.

    mask: bool [1 or batch,1,H,W] (True = hole; a batch-1 mask serves every item). Each item's mask
    is split into 8-connected holes, holes whose windows would overlap are merged
    (nps_core.holes.group_windows), and each group gets its own window; items whose windows are the
    same (same position and side, e.g. one mask for the whole batch) share one run. Returns a list
    of (items tuple, ContextWindow), ordered by first item, then window position.
    """
    H, W = int(mask.shape[-2]), int(mask.shape[-1])
    planned = {}  # mask item -> [(top, left, side)]
    for m in range(mask.shape[0]):
        groups = group_windows(hole_boxes(mask[m, 0]), lambda boxes: plan_boxes(boxes, scale, min_size))
        planned[m] = [(w.top, w.left, w.height) for _, w in groups]
    runs = {}
    for b in range(batch):
        for key in planned[b if mask.shape[0] > 1 else 0]:
            runs.setdefault(key, []).append(b)
    out = []
    for (top, left, side), items in sorted(runs.items(), key=lambda kv: (kv[1][0], kv[0][0], kv[0][1])):
        if side > defaults.MAX_WINDOW:
            raise NPSInputError(
                f"a hole needs a {side} px context window (limit {defaults.MAX_WINDOW}); down-scale the "
                f"image or split the hole into smaller ones."
            )
        k = len(items)
        out.append((tuple(items), ContextWindow(size=side, tops=(top,) * k, lefts=(left,) * k, image_hw=(H, W))))
    return out


def window_callback(callback, window: int, windows: int):
    """callback(ProgressEvent) for window `window` (0-based) of `windows`: each event says which."""
    if callback is None:
        return None

    def forward(event):
        event.window, event.windows = window, windows
        callback(event)

    return forward


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors and CPU allocation failures."""
    if isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def fill_window(
    win_image, win_mask, content_net, texture, alpha, beta, iterations, callback=None,
    synthesis: SynthesisSettings | None = None, content_sigma: float = defaults.CONTENT_SIGMA,
    content: torch.Tensor | None = None, content_views: int = defaults.CONTENT_VIEWS,
    source: SourceRegion | None = None,
):
    """Coarse-to-fine fill of square windows [B,3,S,S] / [B,1,S,S]; returns ([B,3,S,S], reports).

    Per level: reference = content fill (the first level) or the up-sampled coarser result (made
    to meet this level's known pixels by `nps_core.border_match` unless synthesis.match_border is
    off); with synthesis enabled (needs `texture` for its features) the level starts from the voted synthesis
    of the reference, which is also the content target; then optimize_scale.
    content: optional rough fill of the windows [B or 1,3,h,w] float 0..1 (any resolution; see
    nps_core.rough_fill): the pyramid then starts at the level closest to its resolution, whose
    hole is the fill resized to it, and `content_net` is not used (may be None). A level no finer
    than the fill (capped at half the window) is the fill itself (a report with 0 iterations);
    every finer level matches on the fill's band (`FillBand.guide`) and holds it after synthesis
    and after L-BFGS (`FillBand.hold`). content_views: `content_fill`'s views. source: optional
    SourceRegion around the windows (`nps_core.source_region`): the synthesis then copies from it
    too (not used with `content`). Reports cover the levels that ran.
    """
    sizes = level_sizes(win_image.shape[-1])
    first, band = 0, None
    if content is not None:
        content = prepare_rough_fill(content, win_image.shape[0])
        first = start_level(sizes, tuple(content.shape[-2:]))
        band = FillBand(content.to(win_image.device), win_mask, max_side=max(1, sizes[-1] // 2))
    synthesis = SynthesisSettings() if synthesis is None else synthesis
    synthesiser = None
    if synthesis.enabled and texture is not None:
        synthesiser = Synthesiser(texture, synthesis, refine=content is not None)
    reports, current = [], None
    run = sizes[first:]
    for level, size in enumerate(run):
        image_l = resize_image(win_image, size, mask=win_mask)
        mask_l = downsample_mask(win_mask, size)
        if level == 0 and content is not None:
            fill = resize_image(content.to(image_l.device, image_l.dtype), size)
            init = torch.where(mask_l > 0.5, fill, image_l)  # only the fill's hole pixels are used
            if band.knows(size):
                current = init  # the fill knows this level: nothing to optimise here
                reports.append(ScaleReport(size=tuple(init.shape[-2:]), notes=[
                    f"{size}x{size} px: the rough fill itself (no finer than the fill, nothing to optimise)"]))
                continue
        elif level == 0:
            init = content_fill(content_net, image_l, mask_l, content_views)
        else:
            init = resize_image(current, size)
            if synthesis.match_border:
                init = match_border(init, image_l, mask_l)
        try:
            synth_seconds = 0.0
            if synthesiser is not None:
                started = time.perf_counter()
                guide = band.guide(image_l, mask_l, init) if band is not None else None
                finest = level == len(run) - 1
                if source is not None and band is None:
                    canvas = source.canvas(image_l, mask_l, init)
                    init = canvas.window(synthesiser.level(canvas.image, canvas.fill, canvas.reference,
                                                           finest=finest, blocked=canvas.blocked))
                else:
                    init = synthesiser.level(image_l, mask_l, init, finest=finest, guide=guide)
                synth_seconds = time.perf_counter() - started
            if band is not None:
                init = band.hold(init, mask_l)
            current, report = optimize_scale(
                image_l, mask_l, init, texture, alpha=alpha, beta=beta, iterations=iterations,
                callback=callback, level=level, levels=len(run), content_sigma=content_sigma,
            )
            if band is not None:
                current = band.hold(current, mask_l)
            report.seconds += synth_seconds
            report.synthesis_seconds = synth_seconds
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            raise NPSOutOfMemoryError(
                f"out of memory at pyramid level {level + 1}/{len(run)} ({size}x{size} px on "
                f"{image_l.device}): use a smaller hole or image, fewer texture source patches "
                f"(max_sources), or run on a device with more memory."
            ) from exc
        reports.append(report)
    return current, reports


def inpaint(
    image: torch.Tensor,
    mask: torch.Tensor,
    content_net=None,
    texture=None,
    alpha: float = defaults.ALPHA,
    beta: float = defaults.BETA,
    iterations: int = defaults.ITERATIONS,
    threshold: float = defaults.THRESHOLD,
    feather: int = defaults.FEATHER,
    window_scale: float = defaults.WINDOW_SCALE,
    min_window: int = defaults.MIN_WINDOW,
    backbone: str = defaults.BACKBONE,
    device=None,
    callback=None,
    synthesis: SynthesisSettings | None = None,
    content_sigma: float = defaults.CONTENT_SIGMA,
    content: torch.Tensor | None = None,
    content_views: int = defaults.CONTENT_VIEWS,
) -> InpaintResult:
    """Inpaint the hole of each image with Multi-Scale Neural Patch Synthesis.

    image: [B,3,H,W] or [3,H,W] float 0..1 (uint16 / numpy accepted, see nps_core.inputs), or uint8
    0..255 (kept as uint8: only each context window is converted to float32, so a big photo costs
    its own bytes twice, input and output); mask: [H,W], [B,H,W] or [B,1,H,W], 1 = fill (soft masks
    are thresholded at `threshold`; a batch of 1 on either side is broadcast). The mask is split
    into 8-connected holes; holes whose context windows would overlap share one window, every other
    group (and every batch item whose holes lie elsewhere) gets its own window, pyramid and
    optimisation (`plan_runs`). Every setting is validated before any work (nps_core.options:
    finite, whole numbers where counts, in the ranges of defaults.MAX_*, a device that exists); a
    bad one raises NPSOptionError naming it. content_net: None
    (shipped weights), a file path or a loaded content network. texture: TextureSettings or None (then
    `backbone` with its default layers is loaded). device: where to compute (default: the texture
    extractor's device, else CPU). Images with an empty mask come back unchanged; a full mask is an
    error. Pixels outside the mask are bit-exact unless feather > 0. callback(ProgressEvent) is
    called every iteration (event.window / event.windows say which window) and may raise to
    cancel. synthesis: SynthesisSettings (None = defaults;
    `SynthesisSettings.plain()` = the paper's plain optimisation); content_sigma:
    see optimize_scale. content: optional rough fill from any inpainter [B or 1,3,h,w] float 0..1 in
    the image's frame at any resolution (stretched to the image's size; only its hole pixels are
    used): it replaces the content network's prediction, the pyramid starts at the level closest
    to its resolution (nps_core.rough_fill) and `content_net` is not loaded. content_views: how many
    flipped / transposed views of the coarsest level the content network sees, averaged (1, 2, 4,
    8; 1 = the paper's single pass; `nps_core.content.predict_content`).
    """
    started = time.perf_counter()
    opts = check_inpaint_options(alpha, beta, iterations, threshold, feather, window_scale, min_window,
                                 content_sigma, device, content_views)
    alpha, beta, iterations, threshold = opts["alpha"], opts["beta"], opts["iterations"], opts["threshold"]
    feather, window_scale, min_window = opts["feather"], opts["window_scale"], opts["min_window"]
    content_sigma, device = opts["content_sigma"], opts["device"]
    content_views = opts["content_views"]
    if synthesis is not None and not isinstance(synthesis, SynthesisSettings):
        raise NPSOptionError(f"synthesis must be a SynthesisSettings or None, got {type(synthesis).__name__}.")
    image = image_source(image)
    batch = pair_batch(image, mask)
    hole = hole_mask(mask, tuple(image.shape[-2:]), batch, threshold).to(image.device)
    if content is not None:
        content = prepare_rough_fill(content, batch)
    has_hole = check_masks(hole)
    # the output: one copy of the image (float32 0..1, or the input's uint8), filled window by window
    source = image.expand(batch, -1, -1, -1)
    out = source.clone() if image.dtype == torch.uint8 else source.to(torch.float32, copy=True)
    if not bool(has_hole.any()):
        return InpaintResult(image=out, seconds=time.perf_counter() - started)
    if device is None:
        device = texture.device if texture is not None else torch.device("cpu")
    synthesis = SynthesisSettings() if synthesis is None else synthesis
    if texture is None and (alpha > 0 or synthesis.enabled):
        from .texture import make_texture_settings

        texture = make_texture_settings(backbone, device=device)
    model = resolve_content_net(content_net, device) if content is None else None

    plans = plan_runs(hole, batch, window_scale, min_window)
    img_item = (lambda b: b) if image.shape[0] > 1 else (lambda b: 0)
    mask_item = (lambda b: b) if hole.shape[0] > 1 else (lambda b: 0)
    runs, reports_all = [], []
    for i, (items, window) in enumerate(plans):
        run_started = time.perf_counter()
        S, top, left = window.size, window.tops[0], window.lefts[0]

        def crop(y, x, h, w, items=items):  # the run's items' images (float 0..1) and holes in one box
            return (torch.cat([unit_float(crop_box(image[img_item(b)][None], y, x, h, w)) for b in items]),
                    torch.cat([crop_box(hole[mask_item(b)][None], y, x, h, w) for b in items]))

        win_image, win_mask = crop(top, left, S, S)
        win_content, region = None, None
        if content is not None:
            win_content = crop_for_window(content, window, items).to(device)
        elif synthesis.enabled and synthesis.source_scale > 1:
            region = SourceRegion.around(crop, tuple(image.shape[-2:]), top, left, S, synthesis.source_scale)
        filled, reports = fill_window(
            win_image.to(device), win_mask.to(device, torch.float32), model, texture, alpha, beta, iterations,
            window_callback(callback, i, len(plans)), synthesis, content_sigma, win_content, content_views,
            region,
        )
        filled = filled.to(out.device)
        for j, b in enumerate(items):
            paste_window(out, b, hole[mask_item(b)], filled[j], top, left, feather)
        runs.append(WindowRun(items, window, reports, time.perf_counter() - run_started))
        reports_all += reports
    return InpaintResult(image=out, levels=reports_all, window=runs[0].window, seconds=time.perf_counter() - started,
                         synthesis=synthesis, windows=runs)
