"""nps_core: Multi-Scale Neural Patch Synthesis inpainting (Yang et al., CVPR 2017) in plain PyTorch.

The library never imports ComfyUI. Conventions (see docs/ARCHITECTURE.md): images are float32
tensors [B, 3, H, W] in 0..1, masks are [B, 1, H, W] with 1 marking the hole to fill.

Entry points:
    nps_core.inpaint(image, mask, ...)        -> InpaintResult (see nps_core.pipeline)
    python -m nps_core inpaint IMAGE MASK OUT  (see nps_core.cli)
"""

__version__ = "0.1.0"

__all__ = ["inpaint", "InpaintResult", "__version__"]


def __getattr__(name):
    # Imported lazily so that light modules (errors, inputs) load without the whole pipeline.
    if name in ("inpaint", "InpaintResult"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'nps_core' has no attribute {name!r}")
