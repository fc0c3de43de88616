"""Training/validation data: a folder of photographs -> in-memory cache -> deterministic batches.

Photos are decoded once (any format PIL reads, folders searched recursively), shrunk so the
shorter side is at most `cache_side`, and kept as uint8 numpy arrays `[h, w, 3]`. Unreadable
files are skipped with one warning each; the loader never raises on a bad file.

Batches are a pure function of (seed, step): `batch_for_step` draws random square crops at
several scales (side log-uniform between `size` and the photo's shorter side), resizes them to
`size` (antialiased), flips half of them horizontally and draws one hole mask per sample. This
makes resuming after a kill exact without saving any loader state.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .masks import MASK_KINDS, make_mask, sample_mask

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm"}


def list_images(root: str | Path) -> list[Path]:
    """Image files under `root` (recursive, by suffix), sorted for reproducibility."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder '{root}' does not exist; pass a folder of photographs")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _warn(msg: str) -> None:
    print(f"[nps_core.train] warning: {msg}", file=sys.stderr, flush=True)


def load_photo(path: Path, cache_side: int) -> np.ndarray | None:
    """Decode one image to uint8 `[h, w, 3]` with shorter side <= cache_side; None (and a warning) if unreadable."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (cache_side * 2, cache_side * 2))  # fast JPEG decode at reduced size
            if img.mode in ("RGBA", "LA", "P"):
                img = img.convert("RGBA")
                background = Image.new("RGBA", img.size, (128, 128, 128, 255))
                img = Image.alpha_composite(background, img)
            img = img.convert("RGB")
            w, h = img.size
            short = min(w, h)
            if short > cache_side:
                scale = cache_side / short
                img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BICUBIC, reducing_gap=2.0)
            arr = np.asarray(img, dtype=np.uint8).copy()
    except Exception as exc:  # noqa: BLE001 - never die on a bad file
        _warn(f"skipping unreadable image '{path}' ({type(exc).__name__}: {exc})")
        return None
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 8:
        _warn(f"skipping image '{path}' with unusable shape {arr.shape}")
        return None
    return np.ascontiguousarray(arr)


@dataclass
class PhotoSet:
    """Decoded photos (uint8 `[h, w, 3]` numpy arrays) and their source paths."""

    photos: list[np.ndarray]
    paths: list[Path]

    def __len__(self) -> int:
        return len(self.photos)

    def area_weights(self) -> np.ndarray:
        """Probability of drawing each photo, proportional to its cached pixel count, so every
        pixel of the corpus is equally likely to be cropped (a folder of small texture photos
        does not crowd out the large scenes)."""
        areas = np.array([p.shape[0] * p.shape[1] for p in self.photos], dtype=np.float64)
        return areas / areas.sum()


def load_photo_set(root: str | Path, cache_side: int = 512, max_images: int | None = None, log=True) -> PhotoSet:
    """Decode every readable image under `root` (see `load_photo`). Raises if none is readable."""
    files = list_images(root)
    if max_images is not None:
        files = files[:max_images]
    photos, paths = [], []
    for i, path in enumerate(files):
        t = load_photo(path, cache_side)
        if t is not None:
            photos.append(t)
            paths.append(path)
        if log and (i + 1) % 50 == 0:
            print(f"[nps_core.train] decoded {i + 1}/{len(files)} images from {root}", file=sys.stderr, flush=True)
    if not photos:
        raise FileNotFoundError(f"no readable images under '{root}' (looked for {sorted(IMAGE_SUFFIXES)})")
    return PhotoSet(photos, paths)


def _resize_region(photo: np.ndarray, box: tuple[int, int, int, int], size: int) -> torch.Tensor:
    """Antialiased (PIL bilinear) resize of photo[y0:y1, x0:x1] to `size`: float32 `[3, size, size]` in 0..1."""
    img = Image.fromarray(photo).resize((size, size), Image.BILINEAR, box=box)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def random_crop(photo: np.ndarray, rng: np.random.Generator, size: int, flip: bool = True) -> torch.Tensor:
    """Square crop at a random scale and position, resized to `size`: float32 `[3, size, size]` in 0..1.

    The crop side is log-uniform between `size` (or the photo's shorter side if smaller) and the
    photo's shorter side; half of the crops are flipped horizontally when `flip`.
    """
    h, w = photo.shape[:2]
    short = min(h, w)
    lo = min(size, short)
    side = int(round(math.exp(rng.uniform(math.log(lo), math.log(short))))) if short > lo else short
    side = max(1, min(side, short))
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    crop = _resize_region(photo, (x, y, x + side, y + side), size)
    if flip and rng.random() < 0.5:
        crop = crop.flip(-1)
    return crop


def centre_crop(photo: np.ndarray, size: int) -> torch.Tensor:
    """Largest centred square, resized to `size`: float32 `[3, size, size]` in 0..1."""
    h, w = photo.shape[:2]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return _resize_region(photo, (x, y, x + side, y + side), size)


def batch_for_step(photos: PhotoSet, seed: int, step: int, batch: int, size: int,
                   mask_probs: dict[str, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The training batch of `step`: (images `[batch, 3, size, size]` 0..1, masks `[batch, 1, size, size]` 1=hole).

    Photos are drawn with `PhotoSet.area_weights()`. Deterministic in (seed, step, photos); CPU float32.
    """
    rng = np.random.default_rng([seed, step])
    weights = photos.area_weights()
    images, masks = [], []
    for _ in range(batch):
        photo = photos.photos[int(rng.choice(len(photos), p=weights))]
        images.append(random_crop(photo, rng, size))
        masks.append(torch.from_numpy(sample_mask(rng, size, mask_probs)))
    return torch.stack(images), torch.stack(masks).unsqueeze(1)


def fixed_eval_set(photos: PhotoSet, size: int = 128, per_image: int = 3, seed: int = 1234,
                   max_samples: int | None = None) -> tuple[torch.Tensor, torch.Tensor, list[str], list[str]]:
    """A fixed evaluation set: for photo i, sample j uses mask kind MASK_KINDS[j % 3] and
    (for j > 0) a random crop; sample 0 is the centre crop. Deterministic in `seed`.

    Returns (images `[N,3,size,size]`, masks `[N,1,size,size]`, mask kinds, source names).
    """
    images, masks, kinds, names = [], [], [], []
    for i, photo in enumerate(photos.photos):
        for j in range(per_image):
            rng = np.random.default_rng([seed, i, j])
            kind = MASK_KINDS[(i + j) % len(MASK_KINDS)]
            img = centre_crop(photo, size) if j == 0 else random_crop(photo, rng, size, flip=False)
            images.append(img)
            masks.append(torch.from_numpy(make_mask(kind, rng, size)))
            kinds.append(kind)
            names.append(photos.paths[i].name)
            if max_samples is not None and len(images) >= max_samples:
                return torch.stack(images), torch.stack(masks).unsqueeze(1), kinds, names
    return torch.stack(images), torch.stack(masks).unsqueeze(1), kinds, names
