"""`ContentNetConfig`: the architecture of a content network, and its JSON form.

A weights file stores this JSON in its metadata (`nps_core.content.weights_file`), so any file
rebuilds its own network. The default config is the paper's Context-Encoder layout; the shipped
file uses the frozen EfficientNet-Lite0 encoder with the "directional" base (see
weights/MODEL_CARD.md and `nps_core.content.lite_net`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..errors import NPSInputError

NORMS = ("batch", "none")
RESIDUAL_BASES = ("mean", "smooth", "harmonic", "directional")
ENCODERS = ("conv", "efficientnet_lite0")

# encoder="efficientnet_lite0": (encoder block whose output is tapped, its channels) at strides 2..32
LITE_ENCODER_TAPS: tuple[tuple[str, int], ...] = (
    ("block0", 16),
    ("block2", 24),
    ("block4", 40),
    ("block10", 112),
    ("block15", 320),
)
LITE_ENCODER_DEPTH = len(LITE_ENCODER_TAPS)  # the encoder halves the side this many times


@dataclass(frozen=True)
class ContentNetConfig:
    """Architecture of a content network (`nps_core.content.build_content_net` picks the class).

    size:        side of the square input/output window in pixels; must be divisible by
                 `2 ** len(channels)` (each encoder stage halves the side).
    in_channels: 4 = RGB (mean-filled hole) + mask.
    channels:    encoder conv widths, first to last; the decoder mirrors them.
    bottleneck:  width of the fully connected bottleneck
                 (`C_last*s*s -> bottleneck -> C_last*s*s`, s = size / 2**len(channels)).
    norm:        "batch" (BatchNorm after every hidden conv) or "none".
    skips:       add each encoder stage's output to the decoder stage of the same resolution
                 (additive U-Net skips; not in the paper, off by default). Lets a small training
                 budget learn local continuation across thin holes.
    residual:    predict a correction, in logit space, to a base fill instead of the image
                 itself: `out = sigmoid(logit(base) + decoder)`, with the last decoder layer
                 zero-initialised so an untrained network returns the base fill (not in the
                 paper, off by default).
    residual_base: the base fill of `residual`: "mean" (the mean-filled input itself) or
                 "smooth" (`smooth_fill`: push-pull diffusion of the known pixels into the hole) or
                 "harmonic" (`harmonic_fill`: multigrid membrane interpolation), computed inside
                 forward from the input's RGB and mask channels, or (efficientnet_lite0 encoder
                 only) "directional": a learnt per-pixel mix of the harmonic fill and straight-line
                 fills (`nps_core.content.directional_fill`).
    encoder:     "conv" (the paper's encoder, learnt from scratch: `ContentNet`) or
                 "efficientnet_lite0" (a frozen ImageNet EfficientNet-Lite0 encoder:
                 `LiteEncoderContentNet`; not in the paper). With "efficientnet_lite0", `channels`
                 are the 5 decoder widths at strides 2..32, and `skips` and `residual` must be on.
    """

    size: int = 128
    in_channels: int = 4
    channels: tuple[int, ...] = (64, 64, 128, 256, 512)
    bottleneck: int = 512
    norm: str = "batch"
    skips: bool = False
    residual: bool = False
    residual_base: str = "mean"
    encoder: str = "conv"

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if not self.channels or any(c <= 0 for c in self.channels):
            raise NPSInputError(f"ContentNetConfig.channels={self.channels!r}: give one or more positive widths.")
        depth = 2 ** len(self.channels)
        if self.size <= 0 or self.size % depth:
            raise NPSInputError(
                f"ContentNetConfig.size={self.size} must be a positive multiple of 2**len(channels)={depth}."
            )
        if self.in_channels != 4:
            raise NPSInputError(f"ContentNetConfig.in_channels={self.in_channels}: only 4 (RGB + mask) is supported.")
        if self.bottleneck <= 0:
            raise NPSInputError(f"ContentNetConfig.bottleneck={self.bottleneck}: must be positive.")
        if self.residual_base not in RESIDUAL_BASES:
            raise NPSInputError(f"ContentNetConfig.residual_base={self.residual_base!r}: use one of {RESIDUAL_BASES}.")
        if self.norm not in NORMS:
            raise NPSInputError(f"ContentNetConfig.norm={self.norm!r}: use one of {NORMS}.")
        if self.encoder not in ENCODERS:
            raise NPSInputError(f"ContentNetConfig.encoder={self.encoder!r}: use one of {ENCODERS}.")
        if self.encoder == "efficientnet_lite0":
            if (len(self.channels) != LITE_ENCODER_DEPTH or not (self.skips and self.residual)
                    or self.residual_base == "mean"):
                raise NPSInputError(
                    f"ContentNetConfig(encoder='efficientnet_lite0') needs {LITE_ENCODER_DEPTH} decoder widths in "
                    f"channels (got {len(self.channels)}), skips=True, residual=True and a residual_base "
                    "other than 'mean'."
                )
        elif self.residual_base == "directional":
            raise NPSInputError("ContentNetConfig.residual_base='directional' needs encoder='efficientnet_lite0'.")

    @property
    def bottom_size(self) -> int:
        """Side of the smallest feature map (4 for the default 128 / 2**5)."""
        return self.size // 2 ** len(self.channels)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ContentNetConfig:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("config JSON is not an object")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}")
        if "channels" in data:
            data["channels"] = tuple(data["channels"])
        return cls(**data)
