"""Command line: cut torchvision's VGG-19 weights down to the convs the texture layers need.

    python -m nps_core.backbones.slim_vgg19 SRC DST [--layers relu3_1,relu4_1] [--float16]

SRC is torchvision's ``vgg19-dcbb9e9d.pth`` (548 MB); DST, e.g.
``ComfyUI/models/nps/vgg19_slim.safetensors``, holds only the convs up to the deepest layer
(about 14 MB for relu4_1). `save_slim_vgg19` (in `slim_file`) does the work.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import torch

from ..errors import NPSInputError
from .slim_file import DEFAULT_SLIM_LAYERS, SLIM_FORMAT, save_slim_vgg19

__all__ = ["main", "save_slim_vgg19", "DEFAULT_SLIM_LAYERS", "SLIM_FORMAT"]


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
