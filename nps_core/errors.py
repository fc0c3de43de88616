"""Exception types shared by every nps_core module.

`NPSInputError` is raised when a caller passes a bad image, mask or setting; its message
names the input and says how to fix it. Its subclasses say which kind of input was wrong:
`NPSOptionError` (a setting: wrong type, not finite, out of range), `NPSFileError` (an input
file that cannot be read, is too large or has no usable content) and `NPSPathError` (an output
path that cannot or must not be written). The command line prints any of them as one
`error: ...` line and exits with code 2. `NPSWeightsError` is raised when a model file is
missing, unreadable or does not match the expected architecture.
"""


class NPSInputError(ValueError):
    """A user-supplied input (image, mask, setting) is invalid; the message names it and the fix."""


class NPSOptionError(NPSInputError):
    """A setting (alpha, iterations, device, ...) has the wrong type, is not finite or is out of range."""


class NPSFileError(NPSInputError):
    """An input file cannot be decoded, is over the pixel budget, or carries no usable image or hole."""


class NPSPathError(NPSInputError):
    """An output path would overwrite an input, cannot be written, or has no usable format."""


class NPSWeightsError(RuntimeError):
    """A weights file is missing, corrupt or has the wrong architecture; the message names the file."""


class NPSOutOfMemoryError(MemoryError):
    """The device ran out of memory; the message names the level size and what to lower."""
