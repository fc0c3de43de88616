"""Cut torchvision's VGG-19 weights down to the convs a set of layers needs.

torchvision's ``vgg19-dcbb9e9d.pth`` is 548 MB, mostly the classifier; the convs up to
``relu4_1`` are about 14 MB (float32). The slim file keeps torchvision's key layout
(``features.N.weight``) in a safetensors file, so `load_backbone("vgg19")` reads both.

Command line::

    python -m nps_core.backbones.slim_vgg19 SRC DST [--layers relu3_1,relu4_1] [--float16]
"""

from __future__ import annotations

import argparse
import os
import sys
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


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m nps_core.backbones.slim_vgg19",
        description="Write a slim VGG-19 safetensors file with only the convs the texture layers need.",
    )
    parser.add_argument("src", help="torchvision vgg19-dcbb9e9d.pth (or a torchvision-layout safetensors)")
    parser.add_argument("dst", help="output, e.g. ComfyUI/models/nps/vgg19_slim.safetensors")
    parser.add_argument("--layers", default=",".join(DEFAULT_SLIM_LAYERS),
                        help="comma-separated VGG-19 layers to support (default: %(default)s)")
    parser.add_argument("--float16", action="store_true", help="store half precision (half the size)")
    args = parser.parse_args(argv)
    layers = tuple(layer.strip() for layer in args.layers.split(",") if layer.strip())
    try:
        dst = save_slim_vgg19(args.src, args.dst, layers, torch.float16 if args.float16 else torch.float32)
    except (NPSInputError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
