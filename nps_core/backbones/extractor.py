"""`FeatureExtractor`: a frozen, truncated CNN that maps an image to a few feature maps.

Every backbone (VGG-19, EfficientNet-Lite0, random VGG-19) is built as an ordered
`nn.Sequential` body whose children are either

* a plain layer (conv, ReLU, pool): its output is the feature map named like the child, or
* a compound unit (e.g. an inverted-residual block) with ``tap_names`` and
  ``forward_taps(x, wanted) -> (x, {name: map})``, which can hand out inner maps.

The body is already cut after the deepest requested layer by the backbone builder, so the
extractor never computes more than it returns.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from ..errors import NPSInputError
from ..validation import check_image
from .geometry import Geometry, margin_for

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_IMAGE_SIZE = 32


class FeatureExtractor(nn.Module):
    """Frozen feature stack; differentiable with respect to the input image.

    Attributes:
        name: backbone name, one of `nps_core.backbones.BACKBONES`.
        layers: requested layer names, in the order `forward` returns them.
        strides: px of input per feature cell, per layer (e.g. (4, 8)).
        channels: channel count per layer.
        margin: px of context a crop needs around a region (on every side) so the region's
            features equal the full-image features: the receptive-field radius of the
            deepest layer rounded up to a multiple of the deepest stride. The crop must start
            at a multiple of the deepest stride.
        label: human-readable description (says RANDOM for the random control backbone).
        weights_file: the file the weights came from, or None (random weights).

    The module stays in eval mode (``train()`` is a no-op), its parameters never require
    grad, and it computes in float32 on the device it was moved to.
    """

    def __init__(
        self,
        name: str,
        body: nn.Sequential,
        layers: Sequence[str],
        geometries: Mapping[str, Geometry],
        channels: Mapping[str, int],
        label: str,
        weights_file: str | None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ):
        super().__init__()
        self.name = name
        self.layers = tuple(layers)
        self.strides = tuple(geometries[layer].stride for layer in self.layers)
        self.channels = tuple(int(channels[layer]) for layer in self.layers)
        self.geometries = tuple(geometries[layer] for layer in self.layers)
        deepest = max(self.geometries, key=lambda g: (g.stride, g.radius))
        self.margin = max(margin_for(g, deepest.stride) for g in self.geometries)
        self.label = label
        self.weights_file = weights_file
        self.body = body.float()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> "FeatureExtractor":
        """No-op: the extractor is frozen and always in eval mode (batch norm uses running stats)."""
        return self

    @property
    def device(self) -> torch.device:
        """Device of the extractor's buffers (where `forward` expects the image)."""
        return self.mean.device

    def _check_image(self, image: Tensor) -> None:
        check_image(image, hint="RGB, channels first: convert ComfyUI [B,H,W,3] images with nps_core.inputs first")
        if not image.is_floating_point():
            raise NPSInputError(f"image must be a float tensor in 0..1, got dtype {image.dtype}")
        if min(image.shape[2], image.shape[3]) < MIN_IMAGE_SIZE:
            raise NPSInputError(
                f"image is {image.shape[2]}x{image.shape[3]} px; the {self.name} feature extractor needs "
                f"H and W >= {MIN_IMAGE_SIZE} px (use a larger context window)"
            )
        if image.device != self.device:
            raise NPSInputError(
                f"image is on {image.device} but the {self.name} extractor is on {self.device}; "
                f"move one of them (image.to({str(self.device)!r}) or load_backbone(..., device=...))"
            )

    def forward(self, image: Tensor) -> list[Tensor]:
        """Feature maps of ``image``.

        Args:
            image: [B,3,H,W] float in 0..1 on ``self.device``, H, W >= 32. Normalised inside
                with the ImageNet mean/std.
        Returns:
            one tensor [B, C_l, H // s_l, W // s_l] per layer in ``self.layers`` order
            (float32, same device; gradients flow back to ``image``).
        """
        self._check_image(image)
        height, width = image.shape[2], image.shape[3]
        x = (image.float() - self.mean) / self.std
        wanted = set(self.layers)
        found: dict[str, Tensor] = {}
        for child_name, unit in self.body.named_children():
            if hasattr(unit, "forward_taps"):
                x, taps = unit.forward_taps(x, wanted)
                found.update(taps)
            else:
                x = unit(x)
                if child_name in wanted:
                    found[child_name] = x
        outputs = []
        for layer, stride in zip(self.layers, self.strides, strict=True):
            feature = found[layer]
            outputs.append(feature[:, :, : height // stride, : width // stride])
        return outputs

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, layers={self.layers}, strides={self.strides}, "
            f"channels={self.channels}, margin={self.margin}"
        )
