"""Progress events that long loops send to a caller-supplied callback.

A callback is any `callable(ProgressEvent) -> None`. It may raise to cancel the loop: the
exception propagates unchanged (ComfyUI's interrupt exception does exactly this).
"""

from dataclasses import dataclass, field
from typing import Optional

import torch


@dataclass
class ProgressEvent:
    """One optimisation step.

    level: 0-based pyramid level (0 = coarsest); levels: number of levels in the run.
    iteration: 1-based function evaluation within this level; iterations: the level's budget.
    losses: current loss terms (floats; keys content, texture, tv, total).
    preview: current result [B,3,h,w] in 0..1 (detached, on the compute device) or None.
    """

    level: int
    levels: int
    iteration: int
    iterations: int
    losses: dict = field(default_factory=dict)
    preview: Optional[torch.Tensor] = None

