"""nps-inpaint: ComfyUI nodes for multi-scale neural patch synthesis inpainting (Yang et al., CVPR 2017).

Registration only; the nodes live in `nodes/`, the numerics in `nps_core/`.
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
