"""Image files in and out: read as a viewer shows them, written atomically in the input's kind.

Reading (`read_image`, `read_mask`):
- EXIF orientation is applied (`PIL.ImageOps.exif_transpose`), so a mask drawn on the upright photo
  lands on the right pixels; the orientation is remembered so that the output is stored like the
  input (same stored layout, same EXIF tag) and shows the same way.
- Bit depths are scaled, never clipped: 8-bit -> /255, 16-bit (`I;16*`, or 32-bit `I` holding
  0..65535) -> /65535; float `F` images must hold 0..1. Pixels stay in their file dtype
  (`uint8`, `uint16`, `float32`) until `LoadedImage.image_tensor()` is called.
- Palette images become RGB, or RGBA when they have transparency; greyscale stays one channel;
  CMYK / YCbCr / RGBX become RGB. The first frame of an animation or multi-page file is used.
- A decoding budget (`max_pixels`, default `defaults.MAX_IMAGE_PIXELS`) is checked from the header
  before any pixel is decoded; over it, `NPSFileError` says how to raise it.

Writing (`plan_output` before the work, `save_image` after it):
- `plan_output` checks OUT before any compute: an extension naming a supported format, not a
  folder, not one of the input files, its folder writable (missing folders are created when the
  file is written); JPEG (lossy) only when a quality is given explicitly.
- `encode_like` gives the result the input's channels, alpha, bit depth, orientation, ICC profile,
  EXIF and DPI (hole pixels become opaque); a conversion that would lose information (alpha that
  is still transparent, 16-bit or float pixels) into a format that cannot hold it is an error.
- `write_file_atomic` writes to a temporary file in OUT's folder and renames it over OUT
  (`os.replace`), so a failed or interrupted save never leaves a damaged or half-written file.

Every user-caused problem raises an `nps_core.errors.NPSInputError` subclass naming the file.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import defaults
from .errors import NPSFileError, NPSPathError
from .options import check_int

# Output formats by extension: (Pillow format, modes it stores, lossless).
FORMATS = {
    ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP", ".bmp": "BMP",
    ".jpg": "JPEG", ".jpeg": "JPEG",
}
FORMAT_MODES = {
    "PNG": ("L", "LA", "RGB", "RGBA", "I;16"),
    "TIFF": ("L", "LA", "RGB", "RGBA", "I;16", "F"),
    "WEBP": ("RGB", "RGBA"),
    "BMP": ("L", "RGB", "RGBA"),
    "JPEG": ("L", "RGB"),
}
LOSSY_FORMATS = ("JPEG",)
EXIF_FORMATS = ("PNG", "JPEG", "WEBP")     # formats whose files carry the input's EXIF (orientation)
ICC_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")
DPI_FORMATS = ("PNG", "JPEG", "TIFF")
LOSSLESS_EXTENSIONS = ".png, .tif, .webp, .bmp"

# Inverse of each EXIF orientation's transpose (ImageOps.exif_transpose applies the forward one).
_UNDO_ORIENTATION = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
                     6: "ROTATE_90", 7: "TRANSVERSE", 8: "ROTATE_270"}
_EXIF_ORIENTATION = 0x0112
_PIL_LIMIT_LOCK = threading.Lock()


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
        return _max_value(self.pixels.dtype)

    def image_tensor(self) -> torch.Tensor:
        """[1,3,H,W] float32 in 0..1 on the CPU (grey repeated to RGB; alpha not included)."""
        return pixels_to_tensor(self.pixels)

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


@dataclass(frozen=True)
class OutputPlan:
    """A checked output path: Pillow `format`, its `save_options` (lossless unless `lossy`)."""

    path: Path
    format: str
    save_options: dict = field(default_factory=dict)
    lossy: bool = False


# ----------------------------------------------------------------------------- reading

def _max_value(dtype) -> float:
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
        x = x / _max_value(pixels.dtype)
    x = x.permute(2, 0, 1)[None]
    return (x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x).contiguous()


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} megapixels"


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
                    raise NPSFileError(f"cannot read {what} {path}: {_reason(exc)}") from None
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
                    orientation = int(pil.getexif().get(_EXIF_ORIENTATION, 1) or 1)
                    exif = pil.info.get("exif")
                    if orientation in _UNDO_ORIENTATION:
                        pil = ImageOps.exif_transpose(pil)
                    else:
                        orientation = 1
                except Exception as exc:
                    raise NPSFileError(f"cannot decode {what} {path}: {_reason(exc)}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    return pil, orientation, exif, frames


def _reason(exc: BaseException) -> str:
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
            f"{what} {path} has colour mode {mode}, which cannot be converted to RGB ({_reason(exc)}); "
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
    x = pixels.astype(np.float32) / _max_value(pixels.dtype)
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


# ----------------------------------------------------------------------------- output paths

def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def check_writable_path(path, inputs: Iterable = (), what: str = "OUT", overwrite: bool = False) -> Path:
    """Checks shared by every output file (image, report); returns the path. Raises NPSPathError.

    Refused: an empty path, a folder, a path ending in a separator, one of `inputs` (the same file,
    also through links or `..`), an existing file unless `overwrite` (then it must be a writable
    regular file), a folder part that is a file, a folder that cannot be written. Missing folders
    are fine: they are created when the file is written.
    """
    text = os.fspath(path) if not isinstance(path, str) else path
    if not text:
        raise NPSPathError(f"{what} is empty; give a file name such as result.png.")
    p = Path(text)
    if text.endswith(("/", os.sep)) or p.is_dir():
        raise NPSPathError(f"{what} {text} is a folder; give a file name such as {p / 'result.png'}.")
    for item in inputs:
        if item is None:
            continue
        if _same_file(p, Path(item)):
            raise NPSPathError(
                f"{what} {text} is the same file as the input {item}; it would be overwritten. Choose another name."
            )
    if p.exists() or p.is_symlink():
        if not overwrite:
            raise NPSPathError(
                f"{what} {text} already exists; to replace it pass --overwrite (Python: overwrite=True), "
                f"or choose another name."
            )
        if not p.is_file():
            raise NPSPathError(f"{what} {text} exists and is not a regular file; choose another name.")
        if not os.access(p, os.W_OK):
            raise NPSPathError(f"{what} {text} exists and is read-only; choose another name or make it writable.")
    folder = p.parent if str(p.parent) else Path(".")
    ancestor = folder
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NPSPathError(f"{what} {text}: {ancestor} is a file, so the folder {folder} cannot be made.")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise NPSPathError(f"{what} {text}: the folder {ancestor} is not writable; choose another place.")
    return p


def plan_output(path, inputs: Iterable = (), jpeg_quality: int | None = None, what: str = "OUT",
                overwrite: bool = False) -> OutputPlan:
    """Check an output image path before any compute -> OutputPlan (format from the extension).

    See check_writable_path for the path rules (an existing file needs `overwrite=True`).
    Lossless formats: .png, .tif/.tiff, .webp (lossless mode), .bmp. JPEG (.jpg/.jpeg) is lossy, so
    it is refused unless `jpeg_quality` (1..100) is given. Raises NPSPathError naming OUT and the fix.
    """
    p = check_writable_path(path, inputs, what, overwrite)
    ext = p.suffix.lower()
    if not ext:
        raise NPSPathError(
            f"{what} {p} has no extension, so its format is unknown; add one, e.g. {p}.png (lossless)."
        )
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise NPSPathError(
            f"{what} {p}: cannot write '{ext}' files; use {LOSSLESS_EXTENSIONS} (lossless) or .jpg (lossy)."
        )
    if fmt == "JPEG":
        if jpeg_quality is None:
            raise NPSPathError(
                f"{what} {p} is a JPEG, which is lossy: even the known pixels would change. Use .png "
                f"(lossless), or accept the loss with a JPEG quality (command line: --jpeg-quality 95; "
                f"Python: jpeg_quality=95)."
            )
        quality = check_int(jpeg_quality, "jpeg_quality", 1, 100)
        return OutputPlan(path=p, format=fmt, save_options={"quality": quality}, lossy=True)
    options = {"WEBP": {"lossless": True, "quality": 100, "exact": True}}.get(fmt, {})
    return OutputPlan(path=p, format=fmt, save_options=dict(options), lossy=False)


# ----------------------------------------------------------------------------- encoding

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
    """Result [1,3,H,W] or [3,H,W] float 0..1 -> (PIL image, save options) for plan.format, like the input.

    like: the LoadedImage the result came from (None: plain 8-bit RGB). hole: [H,W] bool of filled
    pixels (they become opaque in the alpha). Grey inputs give grey outputs (channel mean), 16-bit
    and float inputs keep their depth; known pixels round back to their stored values exactly.
    The result is turned back to the input's stored orientation when plan.format carries its EXIF.
    """
    from PIL import Image

    x = result[0] if result.dim() == 4 else result
    arr = x.detach().to("cpu", torch.float32).clamp(0, 1).permute(1, 2, 0).numpy()
    alpha = alpha_after_fill(like, hole)
    mode = check_output(plan, like, hole)
    if mode in ("L", "LA", "I;16", "F"):
        arr = arr.mean(axis=2)
    if mode == "F":
        pil = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    elif mode == "I;16":
        pil = Image.fromarray(np.rint(arr * 65535.0).astype(np.uint16))
    else:
        q = np.rint(arr * 255.0).astype(np.uint8)
        if mode in ("LA", "RGBA"):
            q = np.dstack([q if q.ndim == 3 else q[..., None], alpha])
        pil = Image.fromarray(np.ascontiguousarray(q), mode=mode)
    options = dict(plan.save_options)
    if like is not None:
        if like.exif and plan.format in EXIF_FORMATS:
            if like.orientation in _UNDO_ORIENTATION:
                pil = pil.transpose(getattr(Image.Transpose, _UNDO_ORIENTATION[like.orientation]))
            options["exif"] = like.exif
        if like.icc_profile and plan.format in ICC_FORMATS and mode not in ("I;16", "F"):
            options["icc_profile"] = like.icc_profile
        if like.dpi and plan.format in DPI_FORMATS:
            options["dpi"] = like.dpi
    return pil, options


# ----------------------------------------------------------------------------- atomic writing

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
        raise NPSPathError(f"cannot write OUT {plan.path}: {_reason(exc)}; nothing was changed there.") from None


# ----------------------------------------------------------------------------- image + hole

def read_hole(image: LoadedImage, mask_path=None, threshold: float = defaults.THRESHOLD,
              max_pixels: int | None = None) -> LoadedMask:
    """The hole of `image`: MASK's (see read_mask; its aspect ratio must match the image) or, without
    a mask file, the image's transparent pixels (MASK = IMAGE is an error: leave MASK out for that).
    An image without any alpha channel (a palette image without transparency included) cannot be its
    own mask: NPSFileError with the fix. Whether the hole
    is empty is for the caller to decide (`LoadedMask.has_hole`).
    """
    if mask_path is not None:
        if _same_file(Path(mask_path), image.path):
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
