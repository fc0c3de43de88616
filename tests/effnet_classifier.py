"""EfficientNet-Lite0 with its ImageNet classifier head, for the tests that check the pack's
implementation against recorded reference logits (the pack itself only uses the feature body)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Mapping

from torch import Tensor, nn

from nps_core.backbones.efficientnet_lite0 import (
    BLOCK_CONFIG,
    SamePadConv2d,
    _blocks,
    _bn,
    _stem,
    load_package_weights,
)

HEAD_CHANNELS = 1280
NUM_CLASSES = 1000


class EfficientNetLite0Classifier(nn.Module):
    """The whole network with its ImageNet classifier; used to verify the weights.

    forward(x): x [B,3,H,W] already normalised with the ImageNet mean/std -> logits [B,1000].
    """

    def __init__(self, state_dict: Mapping[str, Tensor] | None = None, source: str = "<state dict>"):
        super().__init__()
        self.body = nn.Sequential(OrderedDict([("stem", _stem())] + [(b.block_name, b) for b in _blocks()]))
        self.head = nn.Sequential(OrderedDict(
            conv=SamePadConv2d(BLOCK_CONFIG[-1][4], HEAD_CHANNELS, 1), bn=_bn(HEAD_CHANNELS), act=nn.ReLU6()))
        self.fc = nn.Linear(HEAD_CHANNELS, NUM_CLASSES)
        if state_dict is not None:
            wrapped = nn.Module()
            wrapped.stem, wrapped.head, wrapped.fc = self.body.stem, self.head, self.fc
            for name, block in self.body.named_children():
                if name != "stem":
                    setattr(wrapped, name, block)
            load_package_weights(wrapped, state_dict, source)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        features = self.head(self.body(x))
        return self.fc(features.mean(dim=(2, 3)))
