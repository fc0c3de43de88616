"""Where nps_core looks for model files.

`PACK_ROOT` is the root of the node pack (the folder that holds `nps_core/`);
shipped weights live in `PACK_ROOT / "weights"`.
"""

from pathlib import Path

PACK_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_WEIGHTS_DIR = PACK_ROOT / "weights"


def default_content_weights_path() -> Path:
    """Path of the shipped content-network weights (`weights/content_net.safetensors`)."""
    return SHIPPED_WEIGHTS_DIR / "content_net.safetensors"
