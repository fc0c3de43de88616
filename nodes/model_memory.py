"""Model memory as ComfyUI's own model nodes handle it (e.g. its upscale-model node).

- Loaders put models on ComfyUI's offload device (`unet_offload_device()`: the CPU, or the GPU
  under --highvram), so an idle pack holds no GPU memory ComfyUI does not know about.
- Before a run, `models_on_compute_device` asks ComfyUI for room (`free_memory` with the models'
  size plus the run's estimated working memory, which unloads other models if needed), moves the
  models to the compute device, and on exit (success, error or Cancel) moves them back to the
  offload device and returns cached GPU blocks (`soft_empty_cache`).
- `retry_out_of_memory` runs a step; after an out-of-memory error it asks ComfyUI to free all it can
  on the device and retries once with 16x smaller matching chunks; a second failure is raised as is
  (for NPS Inpaint that is the core's message naming the pyramid level and what to lower).

The core's loaders cache models per device; the moves here are in place and always undone, so a
cached model is on its cache key's device whenever no run is in progress.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import comfy.model_management as model_management
import torch

from ..nps_core.memory import smaller_chunks
from ..nps_core.pipeline import is_out_of_memory


def offload_device() -> torch.device:
    """Where models wait between runs (ComfyUI's offload device)."""
    return model_management.unet_offload_device()


def _modules(models) -> list[torch.nn.Module]:
    """The distinct torch modules behind content networks and TextureSettings (None entries skipped)."""
    found: list[torch.nn.Module] = []
    for model in models:
        module = getattr(model, "extractor", model)  # TextureSettings -> its feature extractor
        if isinstance(module, torch.nn.Module) and all(module is not m for m in found):
            found.append(module)
    return found


def _move(modules: list[torch.nn.Module], device: torch.device) -> None:
    # Outside inference mode: ComfyUI runs nodes under torch.inference_mode(), and parameters moved
    # there would become inference tensors that the texture loss can not differentiate through.
    with torch.inference_mode(False):
        for module in modules:
            module.to(device)


@contextlib.contextmanager
def models_on_compute_device(*models, working_bytes: int = 0) -> Iterator[torch.device]:
    """Move content networks / TextureSettings to ComfyUI's compute device for the `with` block.

    working_bytes: the run's estimated working memory besides the weights (nps_core.memory).
    Yields the compute device. Models are moved back to the offload device on exit, whatever happens.
    """
    device = model_management.get_torch_device()
    modules = _modules(models)
    needed = sum(int(model_management.module_size(m)) for m in modules) + int(working_bytes)
    model_management.free_memory(needed, device)
    try:
        _move(modules, device)
        yield device
    finally:
        idle = offload_device()
        _move(modules, idle)
        if torch.device(device).type != "cpu":
            model_management.soft_empty_cache()


def free_after_out_of_memory(device: torch.device) -> None:
    """Ask ComfyUI to unload every model it holds on `device` and return cached blocks."""
    model_management.free_memory(model_management.get_total_memory(device), device)
    model_management.soft_empty_cache()


def retry_out_of_memory(step: Callable, texture, device: torch.device):
    """`step(texture)`; after an out-of-memory error: free, then `step(smaller_chunks(texture))` once.

    texture: TextureSettings or None (then the retry uses None as well). Errors other than running
    out of memory pass through at once; the retry's own error is raised unchanged.
    """
    try:
        return step(texture)
    except (MemoryError, RuntimeError) as error:
        if not (isinstance(error, MemoryError) or is_out_of_memory(error)):  # NPSOutOfMemoryError is a MemoryError
            raise
    free_after_out_of_memory(device)
    return step(None if texture is None else smaller_chunks(texture))
