"""Content-network weight files: save, read metadata, load (with a bounded, thread-safe cache).

Files are safetensors; the architecture is stored as JSON in the metadata under the key
`"nps_content_net_config"` (`CONFIG_METADATA_KEY`), so a file of any trained size and either
network class loads by itself. Weights-only torch files (`.pt` / `.pth`, a plain state dict or
`{"state_dict": ..., "config": JSON}`) load too, through `nps_core.weights_reader`.

Loaded models are cached by (resolved path, modification time, device): the same unchanged file
gives the same module object. The cache holds at most `defaults.CONTENT_NET_CACHE_SIZE` models
(least recently used goes first); a file that changed on disk replaces its old entry.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from pathlib import Path

import torch

from .. import defaults
from ..errors import NPSWeightsError
from ..paths import default_content_weights_path
from ..weights_reader import read_torch_weights
from .config import ContentNetConfig
from .factory import ContentNetwork, build_content_net

CONFIG_METADATA_KEY = "nps_content_net_config"
FORMAT_METADATA_KEY = "format"
FORMAT_NAME = "nps-inpaint content_net v1"
_REEXPORT = "re-export it with `python -m nps_core.train --export`"


def save_content_net(
    model: ContentNetwork,
    path: str | os.PathLike,
    dtype: torch.dtype = torch.float16,
    metadata: dict | None = None,
) -> Path:
    """Write `model` to a safetensors file with its architecture in the metadata (atomically).

    Floating tensors are stored as `dtype` (fp16 by default); integer buffers keep their dtype.
    `metadata` values are stored as strings (non-strings are JSON encoded). Returns the path.
    """
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {}
    for name, t in model.state_dict().items():
        t = t.detach().to("cpu")
        if t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous()
    meta = {}
    for key, value in (metadata or {}).items():
        meta[str(key)] = value if isinstance(value, str) else json.dumps(value)
    meta[FORMAT_METADATA_KEY] = FORMAT_NAME
    meta[CONFIG_METADATA_KEY] = model.config.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path


def read_content_net_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The string metadata stored in a content-net safetensors file (raises NPSWeightsError if unreadable)."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:  # noqa: BLE001 - any parse failure means a bad file
        raise NPSWeightsError(
            f"Cannot read content-network weights '{path}': {exc}. The file is corrupt or not safetensors; "
            f"re-download it or {_REEXPORT}."
        ) from exc


def _parse_config(text: str, path: Path) -> ContentNetConfig:
    try:
        return ContentNetConfig.from_json(text)
    except Exception as exc:  # noqa: BLE001
        raise NPSWeightsError(f"'{path}' has an unreadable architecture record ({exc}); {_REEXPORT}.") from exc


def _read_weights(path: Path) -> tuple[dict[str, torch.Tensor], ContentNetConfig | None]:
    """Return (state_dict, config or None) from a .safetensors or .pt/.pth file."""
    if path.suffix.lower() in (".pt", ".pth"):
        state, extras = read_torch_weights(
            path, "Content-network weights file",
            "it is corrupt or not a weights-only torch state dict; re-export it as .safetensors with "
            "`python -m nps_core.train --export`.",
        )
        raw_cfg = extras.get("config")
        if isinstance(raw_cfg, dict):
            raw_cfg = json.dumps(raw_cfg)
        return state, (_parse_config(raw_cfg, path) if isinstance(raw_cfg, str) else None)

    from safetensors.torch import load_file

    meta = read_content_net_metadata(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise NPSWeightsError(
            f"Cannot read content-network weights '{path}': {exc}. The file is corrupt; "
            f"re-download it or {_REEXPORT}."
        ) from exc
    raw = meta.get(CONFIG_METADATA_KEY)
    return tensors, (_parse_config(raw, path) if raw is not None else None)


def _build_from_state(state: dict[str, torch.Tensor], config: ContentNetConfig, path: Path) -> ContentNetwork:
    model = build_content_net(config)
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).split("\n")
        short = "; ".join(line.strip() for line in detail[1:4] if line.strip()) or detail[0]
        raise NPSWeightsError(
            f"'{path}' does not match the content-network architecture {config}: {short}. "
            "Use a file exported by `python -m nps_core.train --export` (it records its architecture)."
        ) from exc
    return model


_CACHE: OrderedDict[tuple[str, int, str], ContentNetwork] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_content_net_cache() -> None:
    """Forget every model loaded by `load_content_net`."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _remember(key: tuple[str, int, str], model: ContentNetwork) -> None:
    """Cache `model` under `key`; drop older versions of the same file and device, then the least recent."""
    for old in [k for k in _CACHE if k[0] == key[0] and k[2] == key[2]]:
        del _CACHE[old]
    _CACHE[key] = model
    while len(_CACHE) > defaults.CONTENT_NET_CACHE_SIZE:
        _CACHE.popitem(last=False)


def load_content_net(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> ContentNetwork:
    """Load a content network (float32, eval mode, requires_grad False) onto `device`.

    path: a `.safetensors` file (or weights-only `.pt`/`.pth`); None means the shipped
          `weights/content_net.safetensors` (a `LiteEncoderContentNet`). The architecture, and so
          the class, comes from the file's metadata (the paper's default `ContentNetConfig` when
          the file has none).
    Results are cached by (resolved path, modification time, device): loading the same unchanged
    file twice returns the same module object, so do not modify it.
    Raises NPSWeightsError naming the file when it is missing, corrupt or mis-shaped.
    """
    path = Path(path) if path is not None else default_content_weights_path()
    try:
        resolved = path.expanduser().resolve()
        mtime = resolved.stat().st_mtime_ns
    except (FileNotFoundError, NotADirectoryError):
        raise NPSWeightsError(
            f"Content-network weights not found at '{path}'. Put content_net.safetensors in the pack's "
            "weights/ folder (it ships with the pack), or pass the path of a file exported with "
            "`python -m nps_core.train --export`."
        ) from None
    if not resolved.is_file():
        raise NPSWeightsError(f"Content-network weights path '{path}' is not a file; pass a .safetensors file.")
    dev = torch.device(device)
    key = (str(resolved), mtime, str(dev))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
        state, config = _read_weights(resolved)
        model = _build_from_state(state, config or ContentNetConfig(), path)
        model = model.to(dev).float().eval()
        model.requires_grad_(False)
        _remember(key, model)
        return model
