"""Decoded files: `LoadedImage` and `LoadedMask` (pixels in their file dtype) and their tensor conversion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import defaults


@dataclass(frozen=True)
class LoadedImage:
    """An image file decoded as a viewer shows it.

    pixels: [H,W,C] with C = 1 (grey) or 3 (colour), dtype uint8 (0..255), uint16 (0..65535) or
    float32 (0..1), EXIF orientation already applied. alpha: [H,W] uint8 (255 = opaque) or None.
    mode / format: the file's Pillow mode and format; orientation: the EXIF orientation that was
    applied (1 = none); icc_profile / exif / dpi: metadata carried to the output.
    """

    path: Path
    pixels: np.ndarray
    alpha: np.ndarray | None
    mode: str
    format: str | None
    orientation: int = 1
    icc_profile: bytes | None = None
    exif: bytes | None = None
    dpi: tuple | None = None
    frames: int = 1

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def size_hw(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def max_value(self) -> float:
        """The pixel value that means full intensity: 255, 65535 or 1.0."""
        return dtype_max(self.pixels.dtype)

    def image_tensor(self) -> torch.Tensor:
        """[1,3,H,W] float32 in 0..1 on the CPU (grey repeated to RGB; alpha not included)."""
        return pixels_to_tensor(self.pixels)

    def pipeline_tensor(self) -> torch.Tensor:
        """What `pipeline.inpaint` is given: 8-bit pixels as a uint8 view [1,C,H,W] (C = 1 or 3, no
        copy: only each context window becomes float), other depths as `image_tensor()`."""
        if self.pixels.dtype == np.uint8:
            return torch.from_numpy(self.pixels).permute(2, 0, 1)[None]
        return self.image_tensor()

    def transparency(self) -> torch.Tensor | None:
        """[1,1,H,W] float32 0..1, 1 = fully transparent (ComfyUI's Load Image mask); None without alpha."""
        if self.alpha is None:
            return None
        return torch.from_numpy(1.0 - self.alpha.astype(np.float32) / 255.0)[None, None]

    def describe(self) -> str:
        bits = {np.dtype(np.uint8): "8-bit", np.dtype(np.uint16): "16-bit", np.dtype(np.float32): "float"}
        kind = ("grey" if self.pixels.shape[2] == 1 else "RGB") + ("+alpha" if self.alpha is not None else "")
        turned = f", EXIF orientation {self.orientation} applied" if self.orientation != 1 else ""
        return f"{self.path}: {self.width}x{self.height} {bits[self.pixels.dtype]} {kind} ({self.mode}{turned})"


@dataclass(frozen=True)
class LoadedMask:
    """A mask file as a viewer shows it: values [H,W] float32 0..1 (1 = hole, soft values allowed).

    source: "colour" (white = hole), "colour over transparency" (transparent pixels count as not
    hole) or "transparency" (transparent = hole, ComfyUI's convention); see `read_mask`.
    """

    path: Path
    values: np.ndarray
    source: str
    orientation: int = 1

    @property
    def size_hw(self) -> tuple[int, int]:
        return int(self.values.shape[0]), int(self.values.shape[1])

    def tensor(self) -> torch.Tensor:
        """[1,1,H,W] float32 0..1 on the CPU."""
        return torch.from_numpy(np.ascontiguousarray(self.values))[None, None]

    def has_hole(self, threshold: float = defaults.THRESHOLD) -> bool:
        """True when some value is >= threshold (some pixel will be filled)."""
        return bool((self.values >= threshold).any())

    def describe(self, threshold: float = defaults.THRESHOLD) -> str:
        where = {"colour": "white pixels", "colour over transparency": "white opaque pixels",
                 "transparency": "transparent pixels"}[self.source]
        share = float((self.values >= threshold).mean()) * 100.0
        return f"hole: the {where} of {self.path} ({share:.1f}% of its pixels)"


def dtype_max(dtype) -> float:
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0


def pixels_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """[H,W,C] (C = 1 or 3) uint8 / uint16 / float32 0..1 -> [1,3,H,W] float32 0..1 (a new tensor)."""
    x = torch.from_numpy(np.ascontiguousarray(pixels)).to(torch.float32)
    if pixels.dtype != np.float32:
        x = x / dtype_max(pixels.dtype)
    x = x.permute(2, 0, 1)[None]
    return (x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x).contiguous()


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} megapixels"
