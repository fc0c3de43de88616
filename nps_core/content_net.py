"""Context-Encoder-style content network of Yang et al. (CVPR 2017), plus its file format.

The network sees a square RGB window whose hole was filled with the mean colour of the known
pixels, with the hole mask as a fourth channel, and predicts the whole window's RGB.

Tensor conventions (see docs/ARCHITECTURE.md):
- images  `[B, 3, H, W]` float32 in `0..1`
- masks   `[B, 1, H, W]` float, `1` = hole (values > 0.5 are treated as hole)
- network input `[B, 4, size, size]`, output `[B, 3, size, size]` in `0..1` (sigmoid)

Files are safetensors; the architecture is stored as JSON in the metadata under the key
`"nps_content_net_config"`, so a file of any trained size loads by itself.

The default `ContentNetConfig` is the paper's layout. The shipped weights use two optional
extras (see `ContentNetConfig`): additive U-Net skips and a residual output over a built-in
`harmonic_fill` of the hole; weights/MODEL_CARD.md explains why.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import NPSInputError, NPSWeightsError
from .model_cache import BoundedCache
from .paths import default_content_weights_path
from .pyramid import downsample_mask, resize_image

CONFIG_METADATA_KEY = "nps_content_net_config"
FORMAT_METADATA_KEY = "format"
FORMAT_NAME = "nps-inpaint content_net v1"
_NORMS = ("batch", "none")
RESIDUAL_BASES = ("mean", "smooth", "harmonic", "directional")
ENCODERS = ("conv", "efficientnet_lite0")


@dataclass(frozen=True)
class ContentNetConfig:
    """Architecture of a `ContentNet`.

    size:        side of the square input/output window in pixels; must be divisible by
                 `2 ** len(channels)` (each encoder conv halves the side).
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
                 fills (`directional_fill`).
    encoder:     "conv" (the paper's encoder, learnt from scratch) or "efficientnet_lite0" (a frozen
                 ImageNet EfficientNet-Lite0 encoder, `content_net_lite.LiteEncoderContentNet`; not in
                 the paper). With "efficientnet_lite0", `channels` are the 5 decoder widths at
                 strides 2..32, and `skips` and `residual` must be on.
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
        if self.norm not in _NORMS:
            raise NPSInputError(f"ContentNetConfig.norm={self.norm!r}: use one of {_NORMS}.")
        if self.encoder not in ENCODERS:
            raise NPSInputError(f"ContentNetConfig.encoder={self.encoder!r}: use one of {ENCODERS}.")
        if self.encoder == "efficientnet_lite0":
            from .content_net_lite import ENCODER_DEPTH

            if len(self.channels) != ENCODER_DEPTH or not (self.skips and self.residual) or self.residual_base == "mean":
                raise NPSInputError(
                    f"ContentNetConfig(encoder='efficientnet_lite0') needs {ENCODER_DEPTH} decoder widths in "
                    f"channels (got {len(self.channels)}), skips=True, residual=True and a residual_base other than 'mean'."
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
    def from_json(cls, text: str) -> "ContentNetConfig":
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("config JSON is not an object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}")
        if "channels" in data:
            data["channels"] = tuple(data["channels"])
        return cls(**data)


def check_network_input(x: torch.Tensor, cfg: ContentNetConfig) -> None:
    """Raise NPSInputError unless x is `[B, in_channels, size, size]`."""
    if x.dim() != 4 or x.shape[1] != cfg.in_channels or x.shape[2] != cfg.size or x.shape[3] != cfg.size:
        raise NPSInputError(
            f"Content network input has shape {tuple(x.shape)}; expected [B, {cfg.in_channels}, {cfg.size}, {cfg.size}]. "
            "Use predict_content() for images of other sizes."
        )


def norm_layer(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


class ContentNet(nn.Module):
    """Encoder (4x4 stride-2 convs) -> fully connected bottleneck -> mirrored transposed-conv decoder.

    forward(x `[B, 4, size, size]`, any float dtype, on the module's device)
        -> `[B, 3, size, size]` in `0..1`.
    """

    def __init__(self, config: ContentNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or ContentNetConfig()
        cfg = self.config
        enc: list[nn.Module] = []
        prev = cfg.in_channels
        for i, ch in enumerate(cfg.channels):
            enc.append(nn.Conv2d(prev, ch, 4, stride=2, padding=1, bias=(i == 0 or cfg.norm == "none")))
            if i > 0:
                enc.append(norm_layer(cfg.norm, ch))
            enc.append(nn.ELU(inplace=True))
            prev = ch
        self.encoder = nn.Sequential(*enc)
        flat = cfg.channels[-1] * cfg.bottom_size**2
        self.bottleneck = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, cfg.bottleneck),
            nn.ELU(inplace=True),
            nn.Linear(cfg.bottleneck, flat),
        )
        self.bottleneck_act = nn.Sequential(norm_layer(cfg.norm, cfg.channels[-1]), nn.ELU(inplace=True))
        dec: list[nn.Module] = []
        widths = list(cfg.channels)
        for i in range(len(widths) - 1, 0, -1):
            dec.append(nn.ConvTranspose2d(widths[i], widths[i - 1], 4, stride=2, padding=1, bias=cfg.norm == "none"))
            dec.append(norm_layer(cfg.norm, widths[i - 1]))
            dec.append(nn.ELU(inplace=True))
        dec.append(nn.ConvTranspose2d(widths[0], 3, 4, stride=2, padding=1))
        self.decoder = nn.Sequential(*dec)
        if cfg.residual:
            self.reset_output()

    def reset_output(self) -> None:
        """Zero the last decoder layer (a residual network then returns its base fill)."""
        with torch.no_grad():
            self.decoder[-1].weight.zero_()
            self.decoder[-1].bias.zero_()

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Every parameter (this network has no frozen part)."""
        return list(self.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        check_network_input(x, cfg)
        skips: list[torch.Tensor] = []
        h = x
        for layer in self.encoder:
            h = layer(h)
            if isinstance(layer, nn.ELU):
                skips.append(h)
        b = self.bottleneck(h).reshape(h.shape)
        h = self.bottleneck_act(b)
        if cfg.skips:
            level = len(skips) - 2  # encoder stage whose resolution the next decoder stage reaches
            for layer in self.decoder:
                h = layer(h)
                if isinstance(layer, nn.ELU):
                    h = h + skips[level]
                    level -= 1
        else:
            h = self.decoder(h)
        if cfg.residual:
            rgb = BASE_FILLS[cfg.residual_base](x[:, :3], x[:, 3:])
            rgb = rgb.clamp(0.01, 0.99)
            h = h + torch.log(rgb / (1.0 - rgb))
        return torch.sigmoid(h)


def build_content_net(config: ContentNetConfig | None = None) -> nn.Module:
    """A freshly initialised content network of `config`'s architecture (CPU, float32, train mode):
    `ContentNet` for encoder "conv", `LiteEncoderContentNet` for "efficientnet_lite0" (whose
    encoder then holds untrained weights until `load_imagenet_encoder` or a state dict fills it)."""
    config = config or ContentNetConfig()
    if config.encoder == "efficientnet_lite0":
        from .content_net_lite import LiteEncoderContentNet

        return LiteEncoderContentNet(config)
    return ContentNet(config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable-or-frozen parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def random_content_net(seed: int = 0, config: ContentNetConfig | None = None) -> ContentNet:
    """A `ContentNet` with weights drawn deterministically from `seed` (CPU, float32, eval mode).

    For tests and placeholders only: its predictions are meaningless.
    """
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = build_content_net(config)
    finally:
        torch.random.set_rng_state(gen_state)
    return model.eval()


# ----------------------------------------------------------------------------------------------
# File format
# ----------------------------------------------------------------------------------------------


def save_content_net(
    model: ContentNet,
    path: str | os.PathLike,
    dtype: torch.dtype = torch.float16,
    metadata: dict | None = None,
) -> Path:
    """Write `model` to a safetensors file with its architecture in the metadata.

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
            "re-download it or re-export it with `python -m nps_core.train --export`."
        ) from exc


def _read_weights(path: Path) -> tuple[dict[str, torch.Tensor], ContentNetConfig | None]:
    """Return (state_dict, config or None) from a .safetensors or .pt/.pth file."""
    suffix = path.suffix.lower()
    if suffix in (".pt", ".pth"):
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise NPSWeightsError(
                f"Cannot read content-network weights '{path}': {exc}. The file is corrupt or not a "
                "weights-only torch file; re-export it as .safetensors with `python -m nps_core.train --export`."
            ) from exc
        config = None
        if isinstance(obj, dict) and "state_dict" in obj:
            raw_cfg = obj.get("config")
            if isinstance(raw_cfg, str):
                config = _parse_config(raw_cfg, path)
            elif isinstance(raw_cfg, dict):
                config = _parse_config(json.dumps(raw_cfg), path)
            obj = obj["state_dict"]
        if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise NPSWeightsError(f"'{path}' does not hold a state dict of tensors; it is not a content-network file.")
        return dict(obj), config

    from safetensors.torch import load_file

    meta = read_content_net_metadata(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise NPSWeightsError(
            f"Cannot read content-network weights '{path}': {exc}. The file is corrupt; "
            "re-download it or re-export it with `python -m nps_core.train --export`."
        ) from exc
    raw = meta.get(CONFIG_METADATA_KEY)
    return tensors, (_parse_config(raw, path) if raw is not None else None)


def _parse_config(text: str, path: Path) -> ContentNetConfig:
    try:
        return ContentNetConfig.from_json(text)
    except Exception as exc:  # noqa: BLE001
        raise NPSWeightsError(
            f"'{path}' has an unreadable architecture record ({exc}); re-export it with `python -m nps_core.train --export`."
        ) from exc


_CACHE = BoundedCache()  # (resolved path, mtime, device) -> ContentNet, least recently used dropped


def clear_content_net_cache() -> None:
    """Forget every model loaded by `load_content_net`."""
    _CACHE.clear()


def load_content_net(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> ContentNet:
    """Load a `ContentNet` (float32, eval mode, requires_grad False) onto `device`.

    path: a `.safetensors` file (or weights-only `.pt`/`.pth`); None means the shipped
          `weights/content_net.safetensors`. The architecture comes from the file's metadata
          (default `ContentNetConfig` when the file has none).
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
    cached = _CACHE.get(key)
    if cached is not None:
        return cached

    state, config = _read_weights(resolved)
    config = config or ContentNetConfig()
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
    model = model.to(dev).float().eval()
    model.requires_grad_(False)
    _CACHE.put(key, model)
    return model


# ----------------------------------------------------------------------------------------------
# Inference helpers
# ----------------------------------------------------------------------------------------------


def _check_image_mask(image: torch.Tensor, mask: torch.Tensor, fn: str) -> None:
    if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[1] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise NPSInputError(f"{fn}: image has shape {shape}; expected a [B, 3, H, W] tensor in 0..1.")
    if not isinstance(mask, torch.Tensor) or mask.dim() != 4 or mask.shape[1] != 1:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise NPSInputError(f"{fn}: mask has shape {shape}; expected a [B, 1, H, W] tensor (1 = hole).")
    if mask.shape[0] != image.shape[0] or mask.shape[2:] != image.shape[2:]:
        raise NPSInputError(
            f"{fn}: mask {tuple(mask.shape)} does not match image {tuple(image.shape)}; "
            "give the mask the same batch size, height and width as the image."
        )


def known_mean_colour(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image mean colour of the known pixels (mask <= 0.5): `[B, 3, 1, 1]`.

    Images with no known pixel get mid grey (0.5).
    """
    known = (mask <= 0.5).to(image.dtype)
    count = known.sum(dim=(2, 3), keepdim=True)
    total = (image * known).sum(dim=(2, 3), keepdim=True)
    mean = total / count.clamp_min(1.0)
    return torch.where(count > 0, mean, torch.full_like(mean, 0.5))


def mean_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Return a copy of `image` [B,3,H,W] whose hole pixels (mask [B,1,H,W] > 0.5) hold the
    per-image mean colour of the known pixels (0.5 grey if nothing is known). Same device/dtype."""
    _check_image_mask(image, mask, "mean_fill")
    hole = mask > 0.5
    return torch.where(hole, known_mean_colour(image, mask), image)


def _pull_known(image: torch.Tensor, known: torch.Tensor):
    """Average the known pixels down a 2x pyramid to 1x1.

    image `[B, 3, H, W]`, known `[B, 1, H, W]` in {0, 1}. Returns (levels, coarsest fill): levels is
    a list of (known-weighted colour sum, known coverage) from full resolution down to 1x1; the
    fill is the 1x1 mean known colour (0.5 grey where nothing is known).
    """
    levels = [(image * known, known)]
    colour, weight = levels[0]
    while min(colour.shape[-2:]) > 1:
        colour = F.avg_pool2d(colour, 2, ceil_mode=True)
        weight = F.avg_pool2d(weight, 2, ceil_mode=True)
        levels.append((colour, weight))
    fill = torch.where(weight > 0, colour / weight.clamp_min(1e-6), torch.full_like(colour, 0.5))
    return levels, fill


def smooth_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill the hole by push-pull diffusion of the known pixels (a fast, smooth, Telea-like fill).

    image `[B, 3, H, W]`, mask `[B, 1, H, W]` (> 0.5 = hole), any device/float dtype. Known pixels
    and their coverage are averaged down a 2x pyramid to 1x1 (pull), then the hole is filled
    from coarse to fine, each level blending its own estimate with the upsampled coarser one by
    the fraction of known pixels it covers (push). Known pixels are returned unchanged; images
    with no known pixel get 0.5 grey. Returns `[B, 3, H, W]`, same device and dtype.
    """
    hole = (mask > 0.5).to(image.dtype)
    known = 1.0 - hole
    levels, fill = _pull_known(image, known)
    for colour, weight in reversed(levels[:-1]):
        coarse = F.interpolate(fill, size=colour.shape[-2:], mode="bilinear", align_corners=False)
        fill = weight * (colour / weight.clamp_min(1e-6)) + (1.0 - weight) * coarse
    return image * known + fill * hole


def _jacobi(fill: torch.Tensor, fixed_values: torch.Tensor, fixed: torch.Tensor, iterations: int) -> torch.Tensor:
    """Jacobi iterations of the discrete Laplace equation on the non-fixed pixels (replicate borders)."""
    for _ in range(iterations):
        p = F.pad(fill, (1, 1, 1, 1), mode="replicate")
        avg = (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]) * 0.25
        fill = torch.where(fixed, fixed_values, avg)
    return fill


def harmonic_fill(image: torch.Tensor, mask: torch.Tensor, iterations: tuple[int, int] = (24, 12)) -> torch.Tensor:
    """Fill the hole with an approximately harmonic (membrane) interpolation of its border.

    image `[B, 3, H, W]`, mask `[B, 1, H, W]` (> 0.5 = hole), any device/float dtype. Coarse to
    fine over a 2x pyramid of the known pixels: each level starts from the upsampled coarser
    solution, fixes the cells that are mostly known and runs Jacobi iterations of Laplace's
    equation on the rest (`iterations` = (finest level, other levels)). Smooth like Telea's
    method and about as cheap as a few convolutions. Known pixels are returned unchanged;
    images with no known pixel get 0.5 grey. Returns `[B, 3, H, W]`, same device and dtype.
    """
    hole = (mask > 0.5).to(image.dtype)
    known = 1.0 - hole
    levels, fill = _pull_known(image, known)
    finer = list(reversed(levels[:-1]))
    for i, (colour, weight) in enumerate(finer):
        fill = F.interpolate(fill, size=colour.shape[-2:], mode="bilinear", align_corners=False)
        fixed = (weight > 0.5).expand_as(fill)
        estimate = colour / weight.clamp_min(1e-6)
        fill = torch.where(fixed, estimate, fill)
        fill = _jacobi(fill, estimate, fixed, iterations[0] if i == len(finer) - 1 else iterations[1])
    return image * known + fill * hole


BASE_FILLS = {
    "mean": lambda rgb, mask: rgb,  # the network input is already mean-filled
    "smooth": lambda rgb, mask: smooth_fill(rgb, mask),
    "harmonic": lambda rgb, mask: harmonic_fill(rgb, mask),
}


def prepare_input(image: torch.Tensor, mask: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize image/mask to `size`x`size`, mean-fill the hole, append the mask.

    image `[B, 3, H, W]` in 0..1, mask `[B, 1, H, W]` (> 0.5 = hole), same device. Returns (x
    `[B, 4, size, size]`, resized binary mask `[B, 1, size, size]`), on that device. The image is
    resized hole-agnostically (`resize_image` with the mask: known low-resolution pixels are
    averages of known pixels only) and the mask conservatively; the fill colour is the mean of the
    known pixels at the input resolution. The pixels under the hole never reach x.
    """
    _check_image_mask(image, mask, "prepare_input")
    colour = known_mean_colour(image, mask)
    small = resize_image(image, size, mask=mask)
    small_mask = downsample_mask(mask, size).to(small.dtype)
    filled = torch.where(small_mask > 0.5, colour, small)
    return torch.cat([filled, small_mask], dim=1), small_mask


def predict_content(model: ContentNet, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Raw content-network prediction for an image of any size.

    image `[B, 3, H, W]` in 0..1, mask `[B, 1, H, W]` (1 = hole), any device. The image is resized to
    `model.config.size` (antialiased bilinear, from the known pixels only), the mask conservatively
    (a pixel touched by the hole stays hole), the hole is mean-filled, the network runs under no_grad in eval mode on the
    model's device, and the output is resized back to H x W.
    Returns `[B, 3, H, W]` float32 in 0..1 on the image's device; it is NOT composited with the
    known pixels.
    """
    _check_image_mask(image, mask, "predict_content")
    if not torch.isfinite(image).all():
        raise NPSInputError("predict_content: image contains NaN or infinite values; clean the input image.")
    param = next(model.parameters())
    size = model.config.size
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x, _ = prepare_input(image.to(param.device, torch.float32), mask.to(param.device, torch.float32), size)
            out = model(x.to(param.dtype)).float()
            out = resize_image(out, tuple(image.shape[-2:]))
    finally:
        model.train(was_training)
    return out.to(image.device)
