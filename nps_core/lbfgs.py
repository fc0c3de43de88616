"""A small L-BFGS without line search, for the per-level optimisation (nps_core.optimize).

Same iterates as `torch.optim.LBFGS(lr, max_iter=max_eval=evaluations, tolerance_grad=0,
tolerance_change, history_size, line_search_fn=None)`: first step -g * min(1, 1/|g|_1) * lr,
then the two-loop recursion with H0 = (y.s)/(y.y), curvature pairs kept only when y.s > 1e-10,
at most `history_size` pairs, a fixed step of lr, one closure evaluation per step. It exists
because torch's optimiser classes import torch._dynamo on first use (seconds of cold start).

`groups` splits the flat variable vector into independent blocks (e.g. one per batch item whose
objective is a sum of per-item terms): each block keeps its own history, initial scaling and
first-step length, and a block can be frozen (`done`) while the others go on; with one group it
is plain L-BFGS. Blocks are exactly the runs one would get by optimising each item separately,
sharing each closure evaluation.
"""

from __future__ import annotations

import torch

_CURVATURE_EPS = 1e-10


class _Block:
    """L-BFGS memory of one slice [start, stop) of the flat variables."""

    def __init__(self, start: int, stop: int, history_size: int):
        self.span = slice(start, stop)
        self.history_size = history_size
        self.dirs, self.steps, self.rho = [], [], []
        self.h_diag = 1.0  # float, then a 0-dim tensor (y.s / y.y)
        self.prev_grad = None
        self.direction = None
        self.t = None
        self.done = False
        self.prev_loss = None

    def next_step(self, grad: torch.Tensor, lr: float):
        """Update the memory with this gradient [n]; return (direction [n], step length)."""
        if self.prev_grad is None:
            d = grad.neg()
            t = min(1.0, 1.0 / grad.abs().sum()) * lr
        else:
            y = grad.sub(self.prev_grad)
            s = self.direction.mul(self.t)
            ys = y.dot(s)
            if ys > _CURVATURE_EPS:
                if len(self.dirs) == self.history_size:
                    self.dirs.pop(0), self.steps.pop(0), self.rho.pop(0)
                self.dirs.append(y)
                self.steps.append(s)
                self.rho.append(1.0 / ys)
                self.h_diag = ys / y.dot(y)
            q = grad.neg()
            alphas = [None] * len(self.dirs)
            for i in range(len(self.dirs) - 1, -1, -1):
                alphas[i] = self.steps[i].dot(q) * self.rho[i]
                q.add_(self.dirs[i], alpha=-alphas[i])
            d = torch.mul(q, self.h_diag)
            for i in range(len(self.dirs)):
                beta = self.dirs[i].dot(d) * self.rho[i]
                d.add_(self.steps[i], alpha=alphas[i] - beta)
            t = lr
        self.prev_grad = grad.clone()
        self.direction, self.t = d, t
        return d, t


def minimise(closure, variables: torch.Tensor, evaluations: int, lr: float = 1.0,
             history_size: int = 20, tolerance_change: float = 1e-12, groups=None) -> int:
    """Minimise closure() over `variables` in place; returns the number of closure evaluations.

    variables: 1-D float tensor with requires_grad (any device; updated in place under no_grad).
    closure(): evaluates the objective at the current variables, calls backward() on it and returns
    either one loss (float or 0-dim tensor) or, with `groups`, a sequence of per-group losses
    (each group's losses decide only its own stop). It may raise to end the run early; the
    variables then hold the point it was evaluated at.
    evaluations: total closure calls (>= 1), as torch's max_eval: the variables end at the last
    evaluated point. groups: sizes of consecutive blocks summing to variables.numel() (None = one).
    A block stops (its variables frozen) when its directional derivative is > -tolerance_change,
    its step is <= tolerance_change in every element, or its loss changed by < tolerance_change;
    a zero gradient ends it too (tolerance_grad 0). The run ends when every block has stopped.
    """
    n = variables.numel()
    sizes = [n] if groups is None else [int(g) for g in groups]
    if sum(sizes) != n or any(g < 0 for g in sizes):
        raise ValueError(f"groups {sizes} must be non-negative sizes summing to {n} variables")
    blocks, start = [], 0
    for g in sizes:
        blocks.append(_Block(start, start + g, history_size))
        start += g

    def evaluate():
        variables.grad = None
        with torch.enable_grad():
            losses = closure()
        if groups is None:
            losses = [losses]
        grad = variables.grad
        if grad is None:
            grad = torch.zeros_like(variables)
        return [float(v.detach()) if torch.is_tensor(v) else float(v) for v in losses], grad.detach().reshape(-1)

    losses, grad = evaluate()
    count = 1
    for block, loss in zip(blocks, losses, strict=True):
        block.prev_loss = loss
        g = grad[block.span]
        if g.numel() == 0 or float(g.abs().max()) <= 0:
            block.done = True
    while count < evaluations and not all(b.done for b in blocks):
        with torch.no_grad():
            moved = False
            for block in blocks:
                if block.done:
                    continue
                g = grad[block.span]
                d, t = block.next_step(g, lr)
                if float(g.dot(d)) > -tolerance_change:
                    block.done = True
                    continue
                variables[block.span].add_(d, alpha=t)
                moved = True
        if not moved:
            break
        losses, grad = evaluate()
        count += 1
        for block, loss in zip(blocks, losses, strict=True):
            if block.done:
                continue
            g = grad[block.span]
            if (float(g.abs().max()) <= 0 or float((block.direction * block.t).abs().max()) <= tolerance_change
                    or abs(loss - block.prev_loss) < tolerance_change):
                block.done = True
            block.prev_loss = loss
    return count
