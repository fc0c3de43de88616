"""Writing results like the input (channels, alpha, depth, orientation, metadata), atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..errors import NPSPathError
from .formats import DPI_FORMATS, EXIF_FORMATS, FORMAT_MODES, ICC_FORMATS, UNDO_ORIENTATION, OutputPlan
from .loaded import LoadedImage
from .reading import error_reason


def output_mode(plan: OutputPlan, like: LoadedImage | None, alpha_needed: bool) -> str:
    """Pillow mode the output gets in plan.format: the input's kind where the format holds it.

    Lossless widenings are automatic (grey -> RGB, opaque alpha dropped); anything that would lose
    information (transparency, 16-bit or float pixels) raises NPSPathError naming OUT and the fix.
    """
    allowed = FORMAT_MODES[plan.format]
    if like is None:
        return "RGB"
    dtype = like.pixels.dtype
    grey = like.pixels.shape[2] == 1
    has_alpha = like.alpha is not None
    if dtype != np.uint8:
        want = "I;16" if dtype == np.uint16 else "F"
        if alpha_needed:
            raise NPSPathError(
                f"OUT {plan.path}: {like.path} is {'16-bit' if want == 'I;16' else 'float'} grey with "
                f"transparency, which no supported format stores; fill all transparent pixels or convert it to 8-bit."
            )
        if want not in allowed:
            fits = ".png or .tif" if want == "I;16" else ".tif"
            raise NPSPathError(
                f"OUT {plan.path}: {plan.format} cannot store the {'16-bit' if want == 'I;16' else 'float'} "
                f"pixels of {like.path} without losing precision; use {fits}."
            )
        return want
    candidates = []
    if has_alpha:
        candidates += ["LA", "RGBA"] if grey else ["RGBA"]
    if not alpha_needed:
        candidates += ["L", "RGB"] if grey else ["RGB"]
    for mode in candidates:
        if mode in allowed:
            return mode
    raise NPSPathError(
        f"OUT {plan.path}: {plan.format} cannot store the transparency that remains in {like.path}; "
        f"use .png, .webp or .tif."
    )


def alpha_after_fill(like: LoadedImage | None, hole: np.ndarray | None) -> np.ndarray | None:
    """The output's alpha [H,W] uint8: the input's, with hole pixels made opaque; None without alpha."""
    if like is None or like.alpha is None:
        return None
    alpha = like.alpha.copy()
    if hole is not None:
        alpha[hole] = 255
    return alpha


def check_output(plan: OutputPlan, like: LoadedImage | None, hole: np.ndarray | None = None) -> str:
    """The output mode for `like` filled at `hole` in plan.format (see output_mode); call it before
    the work so that a format that cannot hold the result fails early. Raises NPSPathError."""
    alpha = alpha_after_fill(like, hole)
    return output_mode(plan, like, alpha_needed=alpha is not None and int(alpha.min()) < 255)


def encode_like(result: torch.Tensor, plan: OutputPlan, like: LoadedImage | None = None,
                hole: np.ndarray | None = None):
    """Result [1,3,H,W] or [3,H,W] (float 0..1 or uint8) -> (PIL image, save options) for plan.format, like the input.

    like: the LoadedImage the result came from (None: plain 8-bit RGB). hole: [H,W] bool of filled
    pixels (they become opaque in the alpha). Grey inputs give grey outputs (channel mean), 16-bit
    and float inputs keep their depth; known pixels round back to their stored values exactly.
    The result is turned back to the input's stored orientation when plan.format carries its EXIF.
    """
    from PIL import Image

    x = result[0] if result.dim() == 4 else result
    alpha = alpha_after_fill(like, hole)
    mode = check_output(plan, like, hole)
    if x.dtype == torch.uint8 and mode in ("RGB", "RGBA"):  # 8-bit colour stays 8-bit: no float copy of a big photo
        arr, q = None, x.detach().cpu().permute(1, 2, 0).numpy()
    elif x.dtype == torch.uint8:
        arr = x.detach().cpu().permute(1, 2, 0).numpy().astype(np.float32) / 255.0
    else:
        arr = x.detach().to("cpu", torch.float32).clamp(0, 1).permute(1, 2, 0).numpy()
    if mode in ("L", "LA", "I;16", "F"):
        arr = arr.mean(axis=2)
    if mode == "F":
        pil = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    elif mode == "I;16":
        pil = Image.fromarray(np.rint(arr * 65535.0).astype(np.uint16))
    else:
        if arr is not None:
            q = np.rint(arr * 255.0).astype(np.uint8)
        if mode in ("LA", "RGBA"):
            q = np.dstack([q if q.ndim == 3 else q[..., None], alpha])
        pil = Image.fromarray(np.ascontiguousarray(q), mode=mode)
    options = dict(plan.save_options)
    if like is not None:
        if like.exif and plan.format in EXIF_FORMATS:
            if like.orientation in UNDO_ORIENTATION:
                pil = pil.transpose(getattr(Image.Transpose, UNDO_ORIENTATION[like.orientation]))
            options["exif"] = like.exif
        if like.icc_profile and plan.format in ICC_FORMATS and mode not in ("I;16", "F"):
            options["icc_profile"] = like.icc_profile
        if like.dpi and plan.format in DPI_FORMATS:
            options["dpi"] = like.dpi
    return pil, options


def write_file_atomic(path, write: Callable, mode: str = "wb") -> Path:
    """Write a file through `write(file_object)` into a temporary file in the same folder, then
    `os.replace` it over `path`. On any failure (also Ctrl-C) the temporary file is removed and an
    existing `path` is left exactly as it was. Missing folders are created. Returns the path.
    An existing file keeps its permission bits; a new one gets the usual umask permissions.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_text_atomic(path, text: str) -> Path:
    """`write_file_atomic` for UTF-8 text (e.g. a JSON report)."""
    data = text.encode("utf-8")
    return write_file_atomic(path, lambda fh: fh.write(data))


def write_image_atomic(path, pil_image, format: str, **save_options) -> Path:
    """Save a PIL image atomically (temporary file + rename in the same folder) as `format`."""
    return write_file_atomic(path, lambda fh: pil_image.save(fh, format=format, **save_options))


def save_image(plan: OutputPlan, result: torch.Tensor, like: LoadedImage | None = None,
               hole: np.ndarray | None = None) -> Path:
    """Encode `result` like the input (`encode_like`) and write it atomically to plan.path.

    OSErrors while writing (disk full, permissions changed meanwhile) become NPSPathError; the
    existing file at plan.path is never damaged.
    """
    pil, options = encode_like(result, plan, like, hole)
    try:
        return write_image_atomic(plan.path, pil, plan.format, **options)
    except OSError as exc:
        raise NPSPathError(f"cannot write OUT {plan.path}: {error_reason(exc)}; nothing was changed there.") from None
