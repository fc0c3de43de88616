"""Receptive-field bookkeeping for feed-forward conv stacks.

A feature cell ``i`` (along one axis) of a layer with stride ``J`` reads the input pixels
``[i*J + lo, i*J + hi]`` (inclusive, pixel 0 = first input pixel; ``lo`` may be negative and
``hi`` may pass the image edge, those pixels are padding). `Geometry` tracks ``(J, lo, hi)``
through convolutions and poolings so every extractor can state, per layer, its stride and
how much image context a crop needs for its features to equal those of the full image.

Pure integer arithmetic; no tensors, no device.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Geometry:
    """Where one feature cell looks in the input image (one axis; layers are square).

    stride: px between neighbouring cells (``J``).
    lo, hi: cell ``i`` reads input pixels ``i*stride + lo .. i*stride + hi`` inclusive.
    """

    stride: int = 1
    lo: int = 0
    hi: int = 0

    def then(self, kernel: int, stride: int, pad_left: int) -> "Geometry":
        """Geometry after a conv/pool with this kernel, stride and left (top) zero padding."""
        if kernel < 1 or stride < 1 or pad_left < 0:
            raise ValueError(f"bad layer geometry kernel={kernel} stride={stride} pad_left={pad_left}")
        return Geometry(
            stride=self.stride * stride,
            lo=self.lo - pad_left * self.stride,
            hi=self.hi + (kernel - 1 - pad_left) * self.stride,
        )

    @property
    def receptive_field(self) -> int:
        """Width in px of the input window one cell reads."""
        return self.hi - self.lo + 1

    @property
    def radius(self) -> int:
        """px of context needed on each side of the cell's own ``stride`` x ``stride`` footprint."""
        return max(-self.lo, self.hi - (self.stride - 1), 0)


def margin_for(geometry: Geometry, stride: int) -> int:
    """``geometry.radius`` rounded up to a multiple of ``stride`` (px).

    A crop that extends a stride-aligned region by this many px on every side (and starts at
    a multiple of ``stride``) yields, for the region's cells, exactly the full-image features.
    """
    return -(-geometry.radius // stride) * stride
