"""Joint optimisation at one pyramid level (the paper's per-scale step).

Unknowns are the hole pixels only; known pixels are fixed. The objective is

    E(x) = content(x, c) + alpha * texture(x) + beta * TV(x)

with c the content-network fill (coarsest level) or the up-sampled previous level, minimised by
L-BFGS. One "iteration" here is one evaluation of E and its gradient (L-BFGS without line search
takes one per step), so progress bars and budgets count real work.

Early stop: after at least `_MIN_EVALUATIONS` evaluations, the level ends when the best objective of
the last `window` evaluations (window = 2 x the texture refresh interval, at least 10) improved on
the best before them by less than `tolerance_change` (relative). The window spans match refreshes,
so a plateau between two refreshes does not stop it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from . import defaults
from .lbfgs import minimise
from .losses import content_loss, tv_loss
from .options import check_float, check_iterations, check_weight
from .progress import ProgressEvent
from .texture import LevelTexture, TextureSettings
from .validation import check_image, check_mask, check_same_size

_MIN_EVALUATIONS = 20


class _Converged(Exception):
    """Raised inside the L-BFGS closure to end the level early (the evaluated point is kept)."""


def converged(history: list, window: int, tolerance: float) -> bool:
    """True when min(history[-window:]) improved on min(history[:-window]) by < tolerance (relative)."""
    if tolerance <= 0 or len(history) < max(_MIN_EVALUATIONS, window + 1):
        return False
    before = min(history[:-window])
    recent = min(history[-window:])
    return before - recent < tolerance * max(abs(recent), 1e-12)


@dataclass
class ScaleReport:
    """What one level did. losses/start_losses: unweighted terms (content, texture, tv) and weighted total."""

    size: tuple
    iterations: int = 0
    seconds: float = 0.0
    start_losses: dict = field(default_factory=dict)
    losses: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    synthesis_seconds: float = 0.0

    def describe(self) -> str:
        terms = ", ".join(f"{k} {v:.5g}" for k, v in self.losses.items())
        synth = f" (synthesis {self.synthesis_seconds:.1f} s)" if self.synthesis_seconds else ""
        terms = f", {terms}" if terms else ""
        return f"{self.size[0]}x{self.size[1]}: {self.iterations} it, {self.seconds:.1f} s{synth}{terms}"


def _check_level_inputs(image, mask, init):
    check_image(image)
    check_mask(mask)
    check_same_size(mask, image, batch="any", hint="down-sample image and mask together (NPS Pyramid Down).")
    check_same_size(init, image, names=("init", "image"), batch="any",
                    hint="up-sample the previous level to this size first (NPS Pyramid Up).")


def optimize_scale(
    image: torch.Tensor,
    mask: torch.Tensor,
    init: torch.Tensor,
    texture: TextureSettings | None,
    alpha: float = defaults.ALPHA,
    beta: float = defaults.BETA,
    iterations: int = defaults.ITERATIONS,
    callback=None,
    level: int = 0,
    levels: int = 1,
    tolerance_change: float = defaults.TOLERANCE_CHANGE,
    history_size: int = 20,
    content_sigma: float = 0.0,
):
    """Optimise the hole pixels of one level.

    image: [B,3,h,w] 0..1, source of the known pixels; mask: [B,1,h,w] (1 = hole);
    init: [B,3,h,w], the content target and starting point inside the hole (its known pixels are
    ignored); content_sigma: px, compare only the Gaussian low band with the target (0 = every frequency);
    texture: settings (None or alpha = 0 disables the texture term).
    Runs on the texture extractor's device (else the image's), with autograd enabled even under
    torch.inference_mode. Returns (result [B,3,h,w] clamped to 0..1 on image's device, ScaleReport).
    """
    alpha, beta = check_weight(alpha, "alpha"), check_weight(beta, "beta")
    iterations = check_iterations(iterations)
    content_sigma = check_float(content_sigma, "content_sigma", 0.0, defaults.MAX_CONTENT_SIGMA)
    _check_level_inputs(image, mask, init)
    out_device = image.device
    device = texture.device if texture is not None else image.device
    started = time.perf_counter()
    report = ScaleReport(size=tuple(image.shape[-2:]))
    with torch.inference_mode(False), torch.enable_grad():
        # Clones made here are ordinary tensors even if the inputs were made under inference mode.
        img = image.detach().to(device, torch.float32).clone()
        hole = (mask.detach().to(device) > 0.5).to(torch.float32).clone()
        start = init.detach().to(device, torch.float32).clone()
        hole3 = (hole > 0.5).expand_as(img)
        base = torch.where(hole3, start, img)
        target = base.clone()
        variables = base[hole3].clone().requires_grad_(True)
        if variables.numel() == 0 or iterations == 0:
            report.seconds = time.perf_counter() - started
            return base.clamp(0, 1).to(out_device), report
        level_texture = None
        if texture is not None and alpha > 0:
            level_texture = LevelTexture.build(texture, base, hole)
            report.notes.extend(level_texture.notes)

        def evaluate(v):
            x = base.masked_scatter(hole3, v)
            terms = {"content": content_loss(x, target, hole, content_sigma), "tv": tv_loss(x, hole)}
            total = terms["content"] + beta * terms["tv"]
            if level_texture is not None:
                terms["texture"] = level_texture.loss(x)
                total = total + alpha * terms["texture"]
            return x, terms, total

        window = max(10, 2 * texture.refresh_every) if level_texture is not None else 10
        history = []

        # The terms are means; L-BFGS sees their sum over hole values so that gradients are O(1) per
        # pixel and its step/change tolerances are in pixel units whatever the hole size.
        scale = float(variables.numel())

        def closure():
            x, terms, total = evaluate(variables)
            (total * scale).backward()
            report.iterations += 1
            values = {k: float(v.detach()) for k, v in terms.items()}
            values["total"] = float(total.detach())
            if not report.start_losses:
                report.start_losses = dict(values)
            report.losses = values
            if callback is not None:
                callback(ProgressEvent(level, levels, report.iterations, iterations, values,
                                       x.detach().clamp(0, 1)))
            history.append(values["total"])
            if converged(history, window, tolerance_change):
                raise _Converged
            return total * scale

        try:
            # plain L-BFGS, no line search (torch.optim.LBFGS's steps without its torch._dynamo import);
            # its absolute tolerance_change is in units of the scaled objective, so kept tiny: the
            # relative early stop is `converged()`.
            minimise(closure, variables, iterations, lr=1.0, history_size=history_size, tolerance_change=1e-12)
        except _Converged:
            report.notes.append(f"converged after {report.iterations} of {iterations} iterations "
                                f"(relative change < {tolerance_change:g} over {window})")
        result = base.masked_scatter(hole3, variables.detach()).clamp(0, 1)
    report.seconds = time.perf_counter() - started
    return result.to(out_device), report
