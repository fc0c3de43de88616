"""The content network: the coarse prediction of the hole that the texture stage refines.

Modules, each one job, imported in this order (each uses only those above it):

- `config`: `ContentNetConfig` (architecture) and its JSON form.
- `fills`: classical fills (`mean_fill`, `smooth_fill`, `harmonic_fill`) and `BASE_FILLS`.
- `directional_fill`: straight-line fills of a hole in 8 directions.
- `blocks`: input check, norm layer and logit shared by both networks.
- `context_encoder`: `ContentNet`, the paper's Context Encoder (`encoder="conv"`).
- `lite_net`: `LiteEncoderContentNet`, a frozen ImageNet EfficientNet-Lite0 encoder with a learnt
  decoder (`encoder="efficientnet_lite0"`); the shipped file is this network with the
  "directional" base (weights/MODEL_CARD.md).
- `factory`: `build_content_net`, `random_content_net`, the `ContentNetwork` type.
- `weights_file`: safetensors save / load with the architecture in the metadata, and the cache.
- `predict`: `prepare_input`, `predict_content` (any image size in, same size out).

Everything public is re-exported here: `from nps_core.content import load_content_net`.
"""

from .config import ENCODERS, NORMS, RESIDUAL_BASES, ContentNetConfig
from .context_encoder import ContentNet
from .factory import ContentNetwork, build_content_net, count_parameters, random_content_net
from .fills import BASE_FILLS, harmonic_fill, known_mean_colour, mean_fill, smooth_fill
from .lite_net import LiteEncoderContentNet, load_imagenet_encoder
from .predict import predict_content, prepare_input
from .weights_file import (
    CONFIG_METADATA_KEY,
    clear_content_net_cache,
    load_content_net,
    read_content_net_metadata,
    save_content_net,
)

__all__ = [
    "BASE_FILLS", "CONFIG_METADATA_KEY", "ENCODERS", "NORMS", "RESIDUAL_BASES", "ContentNet", "ContentNetConfig",
    "ContentNetwork", "LiteEncoderContentNet", "build_content_net", "clear_content_net_cache", "count_parameters",
    "harmonic_fill", "known_mean_colour", "load_content_net", "load_imagenet_encoder", "mean_fill",
    "predict_content", "prepare_input", "random_content_net", "read_content_net_metadata", "save_content_net",
    "smooth_fill",
]
