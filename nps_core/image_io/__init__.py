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

Modules: `formats` (extensions, formats, `OutputPlan`), `loaded` (`LoadedImage`, `LoadedMask`),
`reading` (files in), `output_paths` (OUT checked before compute), `writing` (results out, atomically).
"""

from .formats import (  # noqa: F401
    DPI_FORMATS,
    EXIF_FORMATS,
    EXIF_ORIENTATION_TAG,
    FORMAT_MODES,
    FORMATS,
    ICC_FORMATS,
    LOSSLESS_EXTENSIONS,
    LOSSY_FORMATS,
    UNDO_ORIENTATION,
    OutputPlan,
)
from .loaded import (  # noqa: F401
    LoadedImage,
    LoadedMask,
    dtype_max,
    megapixels,
    pixels_to_tensor,
)
from .output_paths import (  # noqa: F401
    check_writable_path,
    plan_output,
    same_file,
)
from .reading import (  # noqa: F401
    check_mask_shape,
    error_reason,
    luminance,
    read_hole,
    read_image,
    read_mask,
)
from .writing import (  # noqa: F401
    alpha_after_fill,
    check_output,
    encode_like,
    output_mode,
    save_image,
    write_file_atomic,
    write_image_atomic,
    write_text_atomic,
)
