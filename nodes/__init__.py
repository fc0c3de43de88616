"""ComfyUI node classes of nps-inpaint (V3 schema): thin adapters around the pack's own `nps_core`.

Registration goes only through `comfy_entrypoint()` (ComfyUI's V3 extension entry point); no
NODE_CLASS_MAPPINGS is exported, because ComfyUI takes that (V1) branch first when it exists.
The core is imported relatively (`from ..nps_core import ...`), so an `nps_core` installed
elsewhere on sys.path can never stand in for the pack's own.
"""

from .comfy_requirements import check_comfyui

check_comfyui()  # one clear line on a ComfyUI without the V3 schema, before anything imports it

from comfy_api.latest import ComfyExtension, io  # noqa: E402

from . import comfy_bridge  # noqa: E402
from .fill_nodes import NODES as _FILL  # noqa: E402
from .inpaint_node import NODES as _INPAINT  # noqa: E402
from .loader_nodes import NODES as _LOADERS  # noqa: E402
from .optimize_nodes import NODES as _OPTIMIZE  # noqa: E402
from .pyramid_nodes import NODES as _PYRAMID  # noqa: E402
from .window_nodes import NODES as _WINDOW  # noqa: E402

NODE_LIST: list[type[io.ComfyNode]] = [*_LOADERS, *_FILL, *_OPTIMIZE, *_PYRAMID, *_WINDOW, *_INPAINT]


class NPSInpaintExtension(ComfyExtension):
    """The pack as a ComfyUI extension: lists the nodes (ComfyUI asks once, at start-up)."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        # The loaders list models/nps in their schema, so the folder is registered first (idempotent).
        comfy_bridge.register_model_folder()
        return list(NODE_LIST)


async def comfy_entrypoint() -> NPSInpaintExtension:
    return NPSInpaintExtension()


__all__ = ["comfy_entrypoint", "NPSInpaintExtension", "NODE_LIST"]
