"""The whole method, coarse to fine: window -> pyramid -> content network -> per-level optimisation -> stitch.

`inpaint()` is the Python API; the all-in-one ComfyUI node and the command line call it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from . import defaults
from .errors import NPSInputError, NPSOptionError, NPSOutOfMemoryError
from .inputs import as_bchw_image, broadcast_pair
from .optimize import optimize_scale
from .options import check_inpaint_options
from .pyramid import downsample_mask, level_sizes, resize_image
from .rough_fill import crop_for_window, prepare_rough_fill, start_level
from .synthesis import Synthesiser, SynthesisSettings
from .window import ContextWindow, crop_window, plan_window, stitch_window


@dataclass
class InpaintResult:
    """image: [B,3,H,W] float32 0..1 on the input's device; levels: per-level ScaleReports;
    window: the ContextWindow used (None when nothing was filled); seconds: wall time;
    synthesis: the SynthesisSettings used."""

    image: torch.Tensor
    levels: list = field(default_factory=list)
    window: ContextWindow | None = None
    seconds: float = 0.0
    synthesis: SynthesisSettings | None = None

    def describe(self) -> str:
        lines = [self.window.describe()] if self.window is not None else ["empty mask: image returned unchanged"]
        if self.synthesis is not None and self.window is not None:
            lines.append(self.synthesis.describe())
        lines += [f"level {i}: {r.describe()}" for i, r in enumerate(self.levels)]
        for r in self.levels:
            lines += [f"note: {n}" for n in r.notes]
        lines.append(f"total {self.seconds:.1f} s")
        return "\n".join(lines)


def synthesis_for_steps(steps: int, seed: int = 0) -> SynthesisSettings:
    """SynthesisSettings from the one user-facing count (NPS Inpaint node, command line).

    steps: EM synthesis steps per pyramid level after the coarsest, which runs
    defaults.SYNTHESIS_FIRST_STEPS (its matches start from scratch); 0 = off, the paper's plain
    optimisation (0..defaults.MAX_SYNTHESIS_STEPS). seed: the synthesis's random search
    (0..2**63 - 1). Everything else is default. Bad values raise NPSOptionError.
    """
    from .options import check_int

    steps = check_int(steps, "synthesis_steps", 0, defaults.MAX_SYNTHESIS_STEPS)
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    if steps == 0:
        return SynthesisSettings(steps=0, first_steps=0, seed=seed)
    return SynthesisSettings(steps=steps, first_steps=defaults.SYNTHESIS_FIRST_STEPS, seed=seed)


def content_fill(model, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Content network prediction composited into the hole.

    image [B,3,h,w] 0..1, mask [B,1,h,w] binary; model: a content network (`nps_core.content`; any
    device, inputs are moved to it). Returns [B,3,h,w] on image's device: known pixels exact, hole
    from the network.
    """
    from .content import predict_content

    device = next(model.parameters()).device
    pred = predict_content(model, image.to(device), mask.to(device)).to(image.device, image.dtype)
    return torch.where(mask > 0.5, pred.clamp(0, 1), image)


def resolve_content_net(content_net, device):
    """None -> shipped weights; str/path -> that file; a module -> itself. Loaded models are cached."""
    from .content import load_content_net

    if content_net is None or isinstance(content_net, (str, bytes)) or hasattr(content_net, "__fspath__"):
        with torch.inference_mode(False):
            return load_content_net(content_net, device=device)
    return content_net


def check_masks(mask: torch.Tensor) -> torch.Tensor:
    """Binary mask [B,1,H,W] -> bool [B] of items that have a hole; full masks are an error."""
    covered = mask.flatten(1).mean(dim=1)
    full = torch.nonzero(covered >= 1.0).flatten().tolist()
    if full:
        raise NPSInputError(
            f"mask covers the whole image (batch item(s) {full}): the method fills a hole from its "
            f"surroundings and needs some known pixels. Shrink the mask or check that it is not inverted "
            f"(1 = fill)."
        )
    return covered > 0


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors and CPU allocation failures."""
    if isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def fill_window(
    win_image, win_mask, content_net, texture, alpha, beta, iterations, callback=None,
    synthesis: SynthesisSettings | None = None, content_sigma: float = defaults.CONTENT_SIGMA,
    content: torch.Tensor | None = None,
):
    """Coarse-to-fine fill of square windows [B,3,S,S] / [B,1,S,S]; returns ([B,3,S,S], reports).

    Per level: reference = content fill (the first level) or the up-sampled coarser result; with
    synthesis enabled (needs `texture` for its features) the level starts from the voted synthesis
    of the reference, which is also the content target; then optimize_scale.
    content: optional rough fill of the windows [B or 1,3,h,w] float 0..1 (any resolution; see
    nps_core.rough_fill): the pyramid then starts at the level closest to its resolution, whose
    hole is the fill resized to it, and `content_net` is not used (may be None). Reports cover the
    levels that ran.
    """
    sizes = level_sizes(win_image.shape[-1])
    first = 0
    if content is not None:
        content = prepare_rough_fill(content, win_image.shape[0])
        first = start_level(sizes, tuple(content.shape[-2:]))
    synthesis = SynthesisSettings() if synthesis is None else synthesis
    synthesiser = Synthesiser(texture, synthesis) if synthesis.enabled and texture is not None else None
    reports, current = [], None
    run = sizes[first:]
    for level, size in enumerate(run):
        image_l = resize_image(win_image, size, mask=win_mask)
        mask_l = downsample_mask(win_mask, size)
        if level == 0 and content is not None:
            fill = resize_image(content.to(image_l.device, image_l.dtype), size)
            init = torch.where(mask_l > 0.5, fill, image_l)
        elif level == 0:
            init = content_fill(content_net, image_l, mask_l)
        else:
            init = resize_image(current, size)
        try:
            synth_seconds = 0.0
            if synthesiser is not None:
                started = time.perf_counter()
                init = synthesiser.level(image_l, mask_l, init)
                synth_seconds = time.perf_counter() - started
            current, report = optimize_scale(
                image_l, mask_l, init, texture, alpha=alpha, beta=beta, iterations=iterations,
                callback=callback, level=level, levels=len(run), content_sigma=content_sigma,
            )
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
) -> InpaintResult:
    """Inpaint the hole of each image with Multi-Scale Neural Patch Synthesis.

    image: [B,3,H,W] or [3,H,W] float 0..1 (uint8 / uint16 / numpy accepted, see nps_core.inputs);
    mask: [H,W], [B,H,W] or [B,1,H,W], 1 = fill (soft masks are thresholded at `threshold`; a batch
    of 1 on either side is broadcast). Every setting is validated before any work
    (nps_core.options: finite, whole numbers where counts, in the ranges of defaults.MAX_*, a device
    that exists); a bad one raises NPSOptionError naming it. content_net: None
    (shipped weights), a file path or a loaded content network. texture: TextureSettings or None (then
    `backbone` with its default layers is loaded). device: where to compute (default: the texture
    extractor's device, else CPU). Images with an empty mask come back unchanged; a full mask is an
    error. Pixels outside the mask are bit-exact unless feather > 0. callback(ProgressEvent) is
    called every iteration and may raise to cancel. synthesis: SynthesisSettings (None = defaults;
    `SynthesisSettings(steps=0, first_steps=0)` = the paper's plain optimisation); content_sigma:
    see optimize_scale. content: optional rough fill from any inpainter [B or 1,3,h,w] float 0..1 in
    the image's frame at any resolution (stretched to the image's size; only its hole pixels are
    used): it replaces the content network's prediction, the pyramid starts at the level closest
    to its resolution (nps_core.rough_fill) and `content_net` is not loaded.
    """
    started = time.perf_counter()
    opts = check_inpaint_options(alpha, beta, iterations, threshold, feather, window_scale, min_window,
                                 content_sigma, device)
    alpha, beta, iterations, threshold = opts["alpha"], opts["beta"], opts["iterations"], opts["threshold"]
    feather, window_scale, min_window = opts["feather"], opts["window_scale"], opts["min_window"]
    content_sigma, device = opts["content_sigma"], opts["device"]
    if synthesis is not None and not isinstance(synthesis, SynthesisSettings):
        raise NPSOptionError(f"synthesis must be a SynthesisSettings or None, got {type(synthesis).__name__}.")
    image = as_bchw_image(image)
    image, mask = broadcast_pair(image, mask, threshold)
    if content is not None:
        content = prepare_rough_fill(content, image.shape[0])
    has_hole = check_masks(mask)
    if not bool(has_hole.any()):
        return InpaintResult(image=image.clone(), seconds=time.perf_counter() - started)
    if device is None:
        device = texture.device if texture is not None else torch.device("cpu")
    synthesis = SynthesisSettings() if synthesis is None else synthesis
    if texture is None and (alpha > 0 or synthesis.enabled):
        from .texture import make_texture_settings

        texture = make_texture_settings(backbone, device=device)
    model = resolve_content_net(content_net, device) if content is None else None

    active = torch.nonzero(has_hole).flatten()
    img_a, mask_a = image[active], mask[active]
    window = plan_window(mask_a, scale=window_scale, min_size=min_window)
    if window.size > defaults.MAX_WINDOW:
        raise NPSInputError(
            f"the hole needs a {window.size} px context window (limit {defaults.MAX_WINDOW}); down-scale the "
            f"image or split the mask into smaller holes."
        )
    win_image = crop_window(img_a.to(device), window)
    win_mask = crop_window(mask_a.to(device), window)
    win_content = None
    if content is not None:
        win_content = crop_for_window(content, window, active.tolist()).to(device)
    filled, reports = fill_window(win_image, win_mask, model, texture, alpha, beta, iterations, callback,
                                   synthesis, content_sigma, win_content)
    stitched = stitch_window(img_a, mask_a, filled.to(image.device), window, feather)
    out = image.clone()
    out[active] = stitched
    return InpaintResult(image=out, levels=reports, window=window, seconds=time.perf_counter() - started,
                         synthesis=synthesis)
