"""The one reader of PyTorch weight files (`.pt` / `.pth`) in the pack.

Every model file that is not safetensors (content network, VGG-19, EfficientNet-Lite0) is read
here: `torch.load(weights_only=True)` on CPU (no code from the file ever runs), an optional
`{"state_dict": ...}` wrapper is unwrapped, and the result must be a dict of tensors. Problems
raise `NPSWeightsError` naming the file and the fix the caller gives.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

from .errors import NPSWeightsError


def read_torch_weights(
    path: str | os.PathLike, what: str, fix: str, mmap: bool = False
) -> tuple[dict[str, Tensor], dict]:
    """(state dict of CPU tensors, the wrapper's other entries) of the weights-only torch file `path`.

    what: the file's role in messages ("VGG-19 weights file"); fix: what the user should do when
    the file is unreadable or holds no state dict. mmap: memory-map the file (falls back to a
    plain read for legacy non-zip files, which cannot be mapped). A file holding
    `{"state_dict": {...}, ...}` gives that dict and the remaining entries (e.g. `"config"`);
    a plain state dict gives `{}` as the second element.
    """
    path = Path(path)
    try:
        try:
            loaded = torch.load(str(path), map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to parse means a bad file
        raise NPSWeightsError(f"{what} {path} could not be read ({error}); {fix}") from error
    extras: dict = {}
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        extras = {k: v for k, v in loaded.items() if k != "state_dict"}
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(isinstance(v, Tensor) for v in loaded.values()):
        raise NPSWeightsError(f"{what} {path} does not hold a state dict of tensors; {fix}")
    return dict(loaded), extras
