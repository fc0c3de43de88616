"""Write slim VGG-19 weight files: only the convs a set of layers needs, as safetensors.

torchvision's ``vgg19-dcbb9e9d.pth`` is 548 MB, mostly the classifier; the convs up to
``relu4_1`` are about 14 MB (float32, 7 MB float16). The slim file keeps torchvision's key
layout (``features.N.weight``), so `load_backbone("vgg19")` reads both. The command line
front end is `nps_core.backbones.slim_vgg19`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch

from ..errors import NPSInputError
from .vgg19 import TORCHVISION_INDEX, convs_needed, torchvision_keys
from .vgg19_weights import load_vgg19_conv_weights

SLIM_FORMAT = "nps-vgg19-slim"
DEFAULT_SLIM_LAYERS = ("relu3_1", "relu4_1")


def save_slim_vgg19(src_pth: str | os.PathLike, dst_safetensors: str | os.PathLike,
                    layers: Sequence[str] = DEFAULT_SLIM_LAYERS, dtype: torch.dtype = torch.float32) -> Path:
    """Write the VGG-19 convs that ``layers`` need from ``src_pth`` to ``dst_safetensors``.

    Args:
        src_pth: torchvision-layout VGG-19 weights (.pth or .safetensors).
        dst_safetensors: output path (parent folders are created).
        layers: VGG-19 layer names; every conv up to the deepest one is kept.
        dtype: torch.float32 (exact) or torch.float16 (half the size; loaded back as float32).
    Returns:
        the written path. Raises `NPSWeightsError` for a bad source, `NPSInputError` for bad
        layer names or dtype.
    """
    from safetensors.torch import save_file

    unknown = [layer for layer in layers if layer not in TORCHVISION_INDEX]
    if not layers or unknown:
        raise NPSInputError(
            f"unknown VGG-19 layer(s) {unknown or list(layers)}; choose from {', '.join(TORCHVISION_INDEX)}"
        )
    if dtype not in (torch.float32, torch.float16):
        raise NPSInputError(f"dtype must be torch.float32 or torch.float16, got {dtype}")
    deepest = max(layers, key=lambda layer: TORCHVISION_INDEX[layer])
    convs = convs_needed(deepest)
    weights = load_vgg19_conv_weights(src_pth, convs)
    tensors = {}
    for conv, (weight, bias) in weights.items():
        weight_key, bias_key = torchvision_keys(conv)
        tensors[weight_key] = weight.to(dtype).contiguous()
        tensors[bias_key] = bias.to(dtype).contiguous()
    dst = Path(dst_safetensors)
    dst.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": SLIM_FORMAT, "source": Path(src_pth).name, "last_layer": deepest,
                "convs": ",".join(convs), "dtype": str(dtype).replace("torch.", "")}
    save_file(tensors, str(dst), metadata=metadata)
    return dst
