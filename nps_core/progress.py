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
    window: 0-based context window of the run (one per group of holes); windows: their number.
    """

    level: int
    levels: int
    iteration: int
    iterations: int
    losses: dict = field(default_factory=dict)
    preview: Optional[torch.Tensor] = None
    window: int = 0
    windows: int = 1

    def fraction(self) -> float:
        """How much of the whole run is done, 0..1, counting windows and levels as equal parts."""
        level = (self.level + min(self.iteration, self.iterations) / max(1, self.iterations)) / max(1, self.levels)
        return min(1.0, (self.window + level) / max(1, self.windows))

