"""ComfyUI node classes of nps-inpaint: thin adapters around `nps_core`.

`nps_core` is imported by its absolute name, so the pack root is put on `sys.path`
(appended, so nothing of ComfyUI is shadowed) when the pack is loaded as a custom node.
"""

import os
import sys

_PACK_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _PACK_ROOT not in sys.path:
    sys.path.append(_PACK_ROOT)

from . import comfy_bridge  # noqa: E402
from .fill_nodes import NODES as _FILL  # noqa: E402
from .inpaint_node import NODES as _INPAINT  # noqa: E402
from .loader_nodes import NODES as _LOADERS  # noqa: E402
from .optimize_nodes import NODES as _OPTIMIZE  # noqa: E402
from .pyramid_nodes import NODES as _PYRAMID  # noqa: E402
from .window_nodes import NODES as _WINDOW  # noqa: E402

comfy_bridge.register_model_folder()

_ALL = {**_LOADERS, **_FILL, **_OPTIMIZE, **_PYRAMID, **_WINDOW, **_INPAINT}

NODE_CLASS_MAPPINGS = {node_id: cls for node_id, (cls, _name) in _ALL.items()}
NODE_DISPLAY_NAME_MAPPINGS = {node_id: name for node_id, (_cls, name) in _ALL.items()}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
