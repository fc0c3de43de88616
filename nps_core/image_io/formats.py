"""Output formats by extension and the metadata each format carries; `OutputPlan`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
UNDO_ORIENTATION = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
                     6: "ROTATE_90", 7: "TRANSVERSE", 8: "ROTATE_270"}


EXIF_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class OutputPlan:
    """A checked output path: Pillow `format`, its `save_options` (lossless unless `lossy`)."""

    path: Path
    format: str
    save_options: dict = field(default_factory=dict)
    lossy: bool = False
