"""Plain VGG-19 feature stack (the 16 conv layers, ReLUs and 5 max-pools), readable names.

Layer names follow the usual convention: ``conv{block}_{i}``, ``relu{block}_{i}``,
``pool{block}``; ``relu3_1`` is at stride 4 (256 ch), ``relu4_1`` at stride 8 (512 ch).
`TORCHVISION_INDEX` maps each name to its index in torchvision's ``vgg19().features``, so
the state-dict key of ``conv4_1``'s weight is ``features.19.weight``.

Builds the stack truncated after a given layer, with either given weights or seeded random
(Kaiming) weights. Loading files is in `vgg19_weights`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Mapping

import torch
from torch import Tensor, nn

from .geometry import Geometry

# conv widths per block (VGG configuration "E")
_BLOCK_WIDTHS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))


def _layer_table() -> list[tuple[str, str, int, int]]:
    """[(name, kind, in_channels, out_channels)] in network order; kind is conv/relu/pool."""
    table = []
    in_channels = 3
    for block, (width, convs) in enumerate(_BLOCK_WIDTHS, start=1):
        for i in range(1, convs + 1):
            table.append((f"conv{block}_{i}", "conv", in_channels, width))
            table.append((f"relu{block}_{i}", "relu", width, width))
            in_channels = width
        table.append((f"pool{block}", "pool", width, width))
    return table


LAYER_TABLE = _layer_table()
VGG19_LAYERS: tuple[str, ...] = tuple(name for name, _, _, _ in LAYER_TABLE)
TORCHVISION_INDEX: dict[str, int] = {name: index for index, (name, _, _, _) in enumerate(LAYER_TABLE)}
CONV_LAYERS: tuple[str, ...] = tuple(name for name, kind, _, _ in LAYER_TABLE if kind == "conv")


def conv_shapes() -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """{conv name: (weight shape [out,in,3,3], bias shape [out])}."""
    return {
        name: ((cout, cin, 3, 3), (cout,)) for name, kind, cin, cout in LAYER_TABLE if kind == "conv"
    }


def torchvision_keys(conv_name: str) -> tuple[str, str]:
    """State-dict keys (weight, bias) of a conv in torchvision's layout, e.g. features.19.weight."""
    index = TORCHVISION_INDEX[conv_name]
    return f"features.{index}.weight", f"features.{index}.bias"


def layer_geometries() -> dict[str, Geometry]:
    """Receptive-field geometry of every VGG-19 layer (3x3 convs pad 1, 2x2/2 pools)."""
    geometries = {}
    current = Geometry()
    for name, kind, _, _ in LAYER_TABLE:
        if kind == "conv":
            current = current.then(kernel=3, stride=1, pad_left=1)
        elif kind == "pool":
            current = current.then(kernel=2, stride=2, pad_left=0)
        geometries[name] = current
    return geometries


def layer_channels() -> dict[str, int]:
    """{layer name: output channels}."""
    return {name: cout for name, _, _, cout in LAYER_TABLE}


def convs_needed(last_layer: str) -> tuple[str, ...]:
    """Names of the convs that run when the stack is cut after ``last_layer``."""
    stop = TORCHVISION_INDEX[last_layer]
    return tuple(name for name in CONV_LAYERS if TORCHVISION_INDEX[name] <= stop)


def build_vgg19_body(last_layer: str, conv_weights: Mapping[str, tuple[Tensor, Tensor]] | None = None,
                     seed: int = 0) -> nn.Sequential:
    """VGG-19 feature stack cut after ``last_layer`` (inclusive).

    Args:
        last_layer: deepest layer to keep, e.g. "relu4_1".
        conv_weights: {conv name: (weight, bias)} for every conv up to ``last_layer``; None for
            seeded random weights (Kaiming-normal fan-in for ReLU, zero bias, so activations
            keep roughly unit scale through the stack and texture losses are not degenerate).
        seed: random seed (only used when ``conv_weights`` is None); deterministic on CPU.
    Returns:
        float32 CPU `nn.Sequential` whose children are named like the layers.
    """
    generator = torch.Generator().manual_seed(int(seed))
    modules: "OrderedDict[str, nn.Module]" = OrderedDict()
    for name, kind, cin, cout in LAYER_TABLE:
        if kind == "conv":
            conv = nn.Conv2d(cin, cout, kernel_size=3, padding=1)
            with torch.no_grad():
                if conv_weights is None:
                    std = (2.0 / (cin * 9)) ** 0.5
                    conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * std)
                    conv.bias.zero_()
                else:
                    weight, bias = conv_weights[name]
                    conv.weight.copy_(weight.float())
                    conv.bias.copy_(bias.float())
            modules[name] = conv
        elif kind == "relu":
            modules[name] = nn.ReLU(inplace=False)
        else:
            modules[name] = nn.MaxPool2d(kernel_size=2, stride=2)
        if name == last_layer:
            break
    return nn.Sequential(modules)
