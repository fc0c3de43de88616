"""A small L-BFGS without line search, for the per-level optimisation (nps_core.optimize).

Same iterates as `torch.optim.LBFGS(lr, max_iter=max_eval=evaluations, tolerance_grad=0,
tolerance_change, history_size, line_search_fn=None)`: first step -g * min(1, 1/|g|_1) * lr,
then the two-loop recursion with H0 = (y.s)/(y.y), curvature pairs kept only when y.s > 1e-10,
at most `history_size` pairs, a fixed step of lr, one closure evaluation per step. It exists
because torch's optimiser classes import torch._dynamo on first use (seconds of cold start).
"""

from __future__ import annotations

import torch

_CURVATURE_EPS = 1e-10


class _Memory:
    """L-BFGS memory: the last curvature pairs, the initial scaling and the previous step."""

    def __init__(self, history_size: int):
        self.history_size = history_size
        self.dirs, self.steps, self.rho = [], [], []
        self.h_diag = 1.0  # float, then a 0-dim tensor (y.s / y.y)
        self.prev_grad = None
        self.direction = None
        self.t = None

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
             history_size: int = 20, tolerance_change: float = 1e-12) -> int:
    """Minimise closure() over `variables` in place; returns the number of closure evaluations.

    variables: 1-D float tensor with requires_grad (any device; updated in place under no_grad).
    closure(): evaluates the objective at the current variables, calls backward() on it and returns
    the loss (float or 0-dim tensor). It may raise to end the run early; the variables then hold
    the point it was evaluated at. evaluations: total closure calls (>= 1), as torch's max_eval:
    the variables end at the last evaluated point. The run stops when the directional derivative
    is > -tolerance_change, the step is <= tolerance_change in every element, the loss changed by
    < tolerance_change, or the gradient is zero (tolerance_grad 0).
    """
    memory = _Memory(history_size)

    def evaluate():
        variables.grad = None
        with torch.enable_grad():
            loss = closure()
        grad = variables.grad
        if grad is None:
            grad = torch.zeros_like(variables)
        return float(loss.detach()) if torch.is_tensor(loss) else float(loss), grad.detach().reshape(-1)

    loss, grad = evaluate()
    count = 1
    if grad.numel() == 0 or float(grad.abs().max()) <= 0:
        return count
    while count < evaluations:
        with torch.no_grad():
            d, t = memory.next_step(grad, lr)
            if float(grad.dot(d)) > -tolerance_change:
                break
            variables.add_(d, alpha=t)
        previous, (loss, grad) = loss, evaluate()
        count += 1
        if (float(grad.abs().max()) <= 0 or float((d * t).abs().max()) <= tolerance_change
                or abs(loss - previous) < tolerance_change):
            break
    return count
