"""Reading image and mask files as a viewer shows them (orientation, bit depth, palette, alpha, pixel budget)."""

from __future__ import annotations

import math
import os
import threading
import warnings
from pathlib import Path

import numpy as np

from .. import defaults
from ..errors import NPSFileError
from .formats import EXIF_ORIENTATION_TAG, FORMATS, UNDO_ORIENTATION
from .loaded import LoadedImage, LoadedMask, dtype_max, megapixels
from .output_paths import same_file

_PIL_LIMIT_LOCK = threading.Lock()


def _open_decoded(path, what: str, max_pixels: int | None):
    """Open and fully decode `path` within the pixel budget -> (PIL image, orientation, exif bytes)."""
    from PIL import Image, ImageOps

    path = Path(path)
    if not path.exists():
        raise NPSFileError(f"{what} {path} does not exist.")
    if path.is_dir():
        raise NPSFileError(f"{what} {path} is a folder, not an image file.")
    budget = defaults.MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    with _PIL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # our own budget below replaces Pillow's bomb check
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    pil = Image.open(path)
                except Exception as exc:  # Pillow raises many types for corrupt headers
                    raise NPSFileError(f"cannot read {what} {path}: {error_reason(exc)}") from None
                width, height = pil.size
                if width < 1 or height < 1:
                    raise NPSFileError(f"{what} {path} is empty ({width}x{height} pixels).")
                if width * height > budget:
                    raise NPSFileError(
                        f"{what} {path} is {width}x{height} = {megapixels(width * height)}, over the decoding "
                        f"budget of {megapixels(budget)} (a guard against decompression bombs and running out "
                        f"of memory); if you trust the file, raise it (command line: --max-megapixels "
                        f"{math.ceil(width * height / 1e6)}; Python: max_pixels=)."
                    )
                frames = int(getattr(pil, "n_frames", 1) or 1)
                try:
                    pil.load()
                    orientation = int(pil.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
                    exif = pil.info.get("exif")
                    if orientation in UNDO_ORIENTATION:
                        pil = ImageOps.exif_transpose(pil)
                    else:
                        orientation = 1
                except Exception as exc:
                    raise NPSFileError(f"cannot decode {what} {path}: {error_reason(exc)}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    return pil, orientation, exif, frames


def error_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.replace(str(Path.cwd()) + os.sep, "")


def _decode_pixels(pil, path: Path, what: str):
    """Decoded PIL image -> (pixels [H,W,C] uint8/uint16/float32, alpha [H,W] uint8 or None)."""
    mode = pil.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(pil)
        if mode == "I" and (arr.size and (int(arr.min()) < 0 or int(arr.max()) > 65535)):
            raise NPSFileError(
                f"{what} {path} is a 32-bit integer image with values {int(arr.min())}..{int(arr.max())}; "
                f"only 0..65535 (16-bit) is understood. Save it as 8- or 16-bit."
            )
        pixels = arr.astype(np.uint16)[..., None]
        alpha = None
        if "transparency" in pil.info and isinstance(pil.info["transparency"], int):
            alpha = np.where(pixels[..., 0] == pil.info["transparency"], 0, 255).astype(np.uint8)
        return pixels, alpha
    if mode == "F":
        arr = np.asarray(pil, dtype=np.float32)
        if not np.isfinite(arr).all() or (arr.size and (arr.min() < 0.0 or arr.max() > 1.0)):
            raise NPSFileError(
                f"{what} {path} is a floating-point image with values outside 0..1 (or NaN/inf); "
                f"float images must hold 0..1. Save it as 8- or 16-bit."
            )
        return arr[..., None].copy(), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in pil.info
    grey = mode in ("1", "L", "LA", "La")
    target = ("LA" if has_alpha else "L") if grey else ("RGBA" if has_alpha else "RGB")
    try:
        arr = np.asarray(pil.convert(target))
    except Exception as exc:
        raise NPSFileError(
            f"{what} {path} has colour mode {mode}, which cannot be converted to RGB ({error_reason(exc)}); "
            f"save it as RGB."
        ) from None
    if arr.ndim == 2:
        arr = arr[..., None]
    if has_alpha:
        return arr[..., :-1].copy(), arr[..., -1].copy()
    return arr.copy(), None


def read_image(path, max_pixels: int | None = None, what: str = "IMAGE") -> LoadedImage:
    """Read an image file as a viewer shows it (see the module docstring).

    max_pixels: decoding budget in pixels (None = defaults.MAX_IMAGE_PIXELS). what: the name used in
    messages ("IMAGE"). Raises NPSFileError for missing, unreadable, over-budget or unsupported files.
    """
    pil, orientation, exif, frames = _open_decoded(path, what, max_pixels)
    pixels, alpha = _decode_pixels(pil, Path(path), what)
    dpi = pil.info.get("dpi")
    return LoadedImage(
        path=Path(path), pixels=pixels, alpha=alpha, mode=pil.mode,
        format=getattr(pil, "format", None) or _format_of(path), orientation=orientation,
        icc_profile=pil.info.get("icc_profile"), exif=exif,
        dpi=tuple(float(v) for v in dpi) if isinstance(dpi, tuple) else None, frames=frames,
    )


def _format_of(path) -> str | None:
    return FORMATS.get(Path(path).suffix.lower())


def luminance(pixels: np.ndarray) -> np.ndarray:
    """[H,W,C] pixels (any supported dtype) -> [H,W] float32 0..1 (ITU-R 601 luma for colour)."""
    x = pixels.astype(np.float32) / dtype_max(pixels.dtype)
    if x.shape[2] == 1:
        return x[..., 0]
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def read_mask(path, threshold: float = defaults.THRESHOLD, image_hw: tuple[int, int] | None = None,
              image_stored_hw: tuple[int, int] | None = None, max_pixels: int | None = None,
              what: str = "MASK") -> LoadedMask:
    """Read a mask file as a viewer shows it -> LoadedMask (values 0..1, 1 = hole; soft values kept).

    Without transparency: white (luma >= threshold) is the hole. With transparent pixels: if any
    opaque pixel (alpha >= 50%) is white, the colour is the mask as drawn over black (transparent
    pixels are not hole: white strokes on a transparent layer); otherwise the transparent pixels are
    the hole (ComfyUI's Load Image convention, e.g. a mask saved with its hole cut out).
    image_hw: the image's displayed (H, W); a mask of another aspect ratio is an error (the pipeline
    resizes masks of the same aspect). image_stored_hw: the image's size before its EXIF rotation,
    only used to explain such an error.
    """
    pil, orientation, _, _ = _open_decoded(path, what, max_pixels)
    pixels, alpha = _decode_pixels(pil, Path(path), what)
    lum = luminance(pixels)
    source = "colour"
    values = lum
    if alpha is not None and int(alpha.min()) < 255:
        a = alpha.astype(np.float32) / 255.0
        if bool((lum[a >= 0.5] >= threshold).any()):
            values, source = lum * a, "colour over transparency"
        else:
            values, source = 1.0 - a, "transparency"
    mask = LoadedMask(path=Path(path), values=np.ascontiguousarray(values, dtype=np.float32), source=source,
                      orientation=orientation)
    if image_hw is not None:
        check_mask_shape(mask, image_hw, image_stored_hw, what=what)
    return mask


def check_mask_shape(mask: LoadedMask, image_hw, image_stored_hw=None, what: str = "MASK") -> None:
    """A mask of the image's aspect ratio (within 1%) passes; anything else is an NPSFileError."""
    mh, mw = mask.size_hw
    ih, iw = int(image_hw[0]), int(image_hw[1])
    if (mh, mw) == (ih, iw) or abs(mw / mh - iw / ih) <= 0.01 * (iw / ih):
        return
    hint = ""
    if image_stored_hw is not None and (mh, mw) == tuple(image_stored_hw):
        hint = (" It matches the image as stored, before the image's EXIF orientation turns it: draw the mask on "
                "the upright image (as viewers show it).")
    raise NPSFileError(
        f"{what} {mask.path} is {mw}x{mh} but the image shows as {iw}x{ih}: a different aspect ratio, so it "
        f"cannot mark the same pixels.{hint}"
    )


def read_hole(image: LoadedImage, mask_path=None, threshold: float = defaults.THRESHOLD,
              max_pixels: int | None = None) -> LoadedMask:
    """The hole of `image`: MASK's (see read_mask; its aspect ratio must match the image) or, without
    a mask file, the image's transparent pixels (MASK = IMAGE is an error: leave MASK out for that).
    An image without any alpha channel (a palette image without transparency included) cannot be its
    own mask: NPSFileError with the fix. Whether the hole
    is empty is for the caller to decide (`LoadedMask.has_hole`).
    """
    if mask_path is not None:
        if same_file(Path(mask_path), image.path):
            raise NPSFileError(
                f"MASK {mask_path} is the same file as IMAGE; to use IMAGE's transparent pixels as the hole, "
                f"leave MASK out."
            )
        stored = (image.width, image.height) if image.orientation in (5, 6, 7, 8) else image.size_hw
        return read_mask(mask_path, threshold, image_hw=image.size_hw, image_stored_hw=stored,
                         max_pixels=max_pixels)
    transparency = image.transparency()
    if transparency is None:
        raise NPSFileError(
            f"IMAGE {image.path} has no transparency ({image.mode}), so it cannot serve as its own mask; "
            f"pass a MASK file (white = fill) or an image whose hole is transparent."
        )
    return LoadedMask(path=image.path, values=transparency[0, 0].numpy(), source="transparency",
                      orientation=image.orientation)
