"""nps-inpaint: ComfyUI nodes for multi-scale neural patch synthesis inpainting (Yang et al., CVPR 2017).

Registration only, through ComfyUI's V3 entry point; the nodes live in `nodes/`, the numerics in
`nps_core/`. Needs ComfyUI 0.3.64 or newer (nodes/comfy_requirements.py).
"""

from .nodes import comfy_entrypoint

__all__ = ["comfy_entrypoint"]
