"""Exception types shared by every nps_core module.

`NPSInputError` is raised when a caller passes a bad image, mask or setting; its message
names the input and says how to fix it. `NPSWeightsError` is raised when a model file is
missing, unreadable or does not match the expected architecture.
"""


class NPSInputError(ValueError):
    """A user-supplied input (image, mask, setting) is invalid; the message names it and the fix."""


class NPSWeightsError(RuntimeError):
    """A weights file is missing, corrupt or has the wrong architecture; the message names the file."""


class NPSOutOfMemoryError(MemoryError):
    """The device ran out of memory; the message names the level size and what to lower."""
