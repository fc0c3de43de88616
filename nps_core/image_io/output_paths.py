"""Checking an output path before any compute: format from the extension, never an input, writable."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import NPSPathError
from ..options import check_int
from .formats import FORMATS, LOSSLESS_EXTENSIONS, OutputPlan


def same_file(a: Path, b: Path) -> bool:
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
        if same_file(p, Path(item)):
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
