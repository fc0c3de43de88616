"""Random hole masks for training and evaluation.

Every generator takes a numpy `Generator` and a side `size` and returns a float32 numpy array
`[size, size]` with 1 = hole, 0 = known. Hole areas stay within `AREA_RANGE` of the window
(the paper's centre square is exactly 25%).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

AREA_RANGE = (0.10, 0.50)
MASK_KINDS = ("centre", "rect", "strokes")
DEFAULT_KIND_PROBS = {"centre": 0.25, "rect": 0.35, "strokes": 0.40}


def centre_square_mask(rng: np.random.Generator | None, size: int) -> np.ndarray:
    """The paper's hole: a centred square of side size/2 (25% of the area). `rng` is unused."""
    m = np.zeros((size, size), np.float32)
    q = size // 4
    m[q : q + size // 2, q : q + size // 2] = 1.0
    return m


def random_rectangle_mask(rng: np.random.Generator, size: int, area=(0.12, 0.48)) -> np.ndarray:
    """One axis-aligned rectangle anywhere, area fraction uniform in `area`, aspect ratio 1:2..2:1."""
    target = rng.uniform(*area) * size * size
    aspect = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))
    h = int(round(min(size, math.sqrt(target * aspect))))
    w = int(round(min(size, target / max(h, 1))))
    h = max(1, min(size, h))
    w = max(1, min(size, w))
    y = int(rng.integers(0, size - h + 1))
    x = int(rng.integers(0, size - w + 1))
    m = np.zeros((size, size), np.float32)
    m[y : y + h, x : x + w] = 1.0
    return m


def free_form_stroke_mask(rng: np.random.Generator, size: int, area=(0.12, 0.45)) -> np.ndarray:
    """Free-form brush strokes (random walks with round joints) drawn until the hole covers a
    target fraction drawn uniformly from `area`; segments are short so the overshoot is small."""
    target = rng.uniform(*area)
    scale = size / 128.0
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    covered = 0.0
    for _stroke in range(200):
        width = int(rng.integers(int(7 * scale) + 1, int(18 * scale) + 2))
        x, y = rng.uniform(0, size, 2)
        angle = rng.uniform(0, 2 * math.pi)
        for _seg in range(int(rng.integers(4, 16))):
            angle += rng.normal(0, 0.7)
            length = rng.uniform(6, 22) * scale
            nx = float(np.clip(x + length * math.cos(angle), 0, size - 1))
            ny = float(np.clip(y + length * math.sin(angle), 0, size - 1))
            draw.line([(x, y), (nx, ny)], fill=255, width=width)
            r = width / 2
            draw.ellipse([nx - r, ny - r, nx + r, ny + r], fill=255)
            x, y = nx, ny
            covered = np.count_nonzero(np.asarray(canvas)) / (size * size)
            if covered >= target:
                return (np.asarray(canvas) > 0).astype(np.float32)
    return (np.asarray(canvas) > 0).astype(np.float32)


_GENERATORS = {
    "centre": centre_square_mask,
    "rect": random_rectangle_mask,
    "strokes": free_form_stroke_mask,
}


def make_mask(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """Mask of the named kind ("centre", "rect" or "strokes"): float32 `[size, size]`, 1 = hole."""
    try:
        gen = _GENERATORS[kind]
    except KeyError:
        raise ValueError(f"unknown mask kind {kind!r}; use one of {MASK_KINDS}") from None
    return gen(rng, size)


def sample_mask(rng: np.random.Generator, size: int, probs: dict[str, float] | None = None) -> np.ndarray:
    """Mask of a random kind drawn with `probs` (default `DEFAULT_KIND_PROBS`)."""
    probs = probs or DEFAULT_KIND_PROBS
    kinds = list(probs)
    p = np.array([probs[k] for k in kinds], dtype=np.float64)
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    return make_mask(kind, rng, size)
