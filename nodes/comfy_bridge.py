"""The only place where the node pack talks to ComfyUI's own modules.

Jobs:
- register the `nps` model folder (`models/nps`) without clobbering a user's extra entry,
  and list / resolve files in it;
- pick the compute device (`comfy.model_management.get_torch_device`) and the device that
  results are handed back on (`intermediate_device`);
- convert ComfyUI's IMAGE `[B,H,W,3]` / MASK `[B,H,W]` to the core's BCHW layout and back,
  broadcasting a batch of 1 on either side over the other;
- turn ComfyUI's progress bar + interrupt flag into an `nps_core` progress callback.
(Model memory, the other ComfyUI service the nodes use, lives in `model_memory.py`.)

The nodes import this module and the pack's own `nps_core` (relative imports: an `nps_core`
installed elsewhere is never picked up); `nps_core` never imports ComfyUI.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import comfy.model_management as model_management
import comfy.utils
import folder_paths
import torch

from ..nps_core import inputs as core_inputs
from ..nps_core.errors import NPSInputError

MODEL_FOLDER = "nps"
MODEL_EXTENSIONS = {".safetensors", ".pth", ".pt"}
PREVIEW_MAX_SIDE = 512
PREVIEW_MIN_INTERVAL_S = 0.25


# ----------------------------------------------------------------------------- model folder

def register_model_folder() -> list[str]:
    """Make `models/nps` a ComfyUI model folder and return every folder registered for `nps`.

    An entry a user made in `extra_model_paths.yaml` is kept; the default folder is appended
    to it. Entries registered without an extension filter get the pack's model extensions.
    """
    default_dir = os.path.join(folder_paths.models_dir, MODEL_FOLDER)
    folder_paths.add_model_folder_path(MODEL_FOLDER, default_dir)
    paths, extensions = folder_paths.folder_names_and_paths[MODEL_FOLDER]
    if not extensions:
        folder_paths.folder_names_and_paths[MODEL_FOLDER] = (paths, set(MODEL_EXTENSIONS))
    return model_folders()


def model_folders() -> list[str]:
    """Every folder ComfyUI knows for `nps` model files (user entries first)."""
    return list(folder_paths.get_folder_paths(MODEL_FOLDER))


def model_files() -> list[str]:
    """Names (relative to an `nps` folder) of the model files the user can pick."""
    try:
        return list(folder_paths.get_filename_list(MODEL_FOLDER))
    except (KeyError, FileNotFoundError):
        return []


def model_file_path(name: str, what: str) -> str:
    """Full path of `name` in the `nps` model folders; a clear error names the folders to use."""
    path = folder_paths.get_full_path(MODEL_FOLDER, name)
    if path is None:
        raise NPSInputError(
            f"{what}: the file {name!r} was not found in the nps model folders "
            f"({', '.join(model_folders()) or 'none registered'}). Put it in models/nps "
            "and refresh the page, or pick another entry."
        )
    return path


# ----------------------------------------------------------------------------- devices

def compute_device() -> torch.device:
    """The device ComfyUI computes on (GPU when available, CPU with --cpu)."""
    return model_management.get_torch_device()


def output_device() -> torch.device:
    """The device ComfyUI expects node outputs (images, masks) on."""
    return model_management.intermediate_device()


# ----------------------------------------------------------------------------- layouts

def image_to_core(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """ComfyUI IMAGE `[B,H,W,C]` (any float dtype, any device) -> float32 `[B,3,H,W]` on the compute device."""
    if not isinstance(image, torch.Tensor):
        raise NPSInputError(f"{name}: expected an IMAGE tensor, got {type(image).__name__}. Connect an IMAGE output.")
    return core_inputs.comfy_image_to_bchw(image).to(compute_device())


def mask_to_core(mask: torch.Tensor, size_hw: tuple[int, int], batch: int, threshold: float) -> torch.Tensor:
    """ComfyUI MASK (any size, soft, batch 1 or B) -> `[B,1,H,W]` in {0,1} on the compute device."""
    if not isinstance(mask, torch.Tensor):
        raise NPSInputError(f"mask: expected a MASK tensor, got {type(mask).__name__}. Connect a MASK output.")
    return core_inputs.prepare_mask(mask.to(compute_device()), size_hw, batch, threshold=threshold)


def image_and_mask_to_core(image: torch.Tensor, mask: torch.Tensor, threshold: float,
                           image_name: str = "image") -> tuple[torch.Tensor, torch.Tensor]:
    """IMAGE + MASK -> (`[N,3,H,W]`, `[N,1,H,W]` in {0,1}) on the compute device.

    N is the larger batch: one image is filled with each of N masks, one mask serves N images;
    other mismatches are an error naming both sizes. The mask is resized to the image if needed.
    """
    core_image = image_to_core(image, image_name)
    if not isinstance(mask, torch.Tensor):
        raise NPSInputError(f"mask: expected a MASK tensor, got {type(mask).__name__}. Connect a MASK output.")
    return core_inputs.broadcast_pair(core_image, mask.to(core_image.device), threshold)


def image_from_core(image: torch.Tensor) -> torch.Tensor:
    """Core `[B,3,H,W]` -> ComfyUI IMAGE `[B,H,W,3]` float32 on the intermediate device."""
    out = core_inputs.bchw_to_comfy_image(image.detach())
    return out.to(device=output_device(), dtype=torch.float32).contiguous()


def mask_from_core(mask: torch.Tensor) -> torch.Tensor:
    """Core `[B,1,H,W]` -> ComfyUI MASK `[B,H,W]` float32 on the intermediate device."""
    return mask.detach()[:, 0].to(device=output_device(), dtype=torch.float32).contiguous()


# ----------------------------------------------------------------------------- progress

def preview_image(preview: torch.Tensor | None):
    """First image of a core preview batch as ComfyUI's preview tuple ("JPEG", PIL image, max side)."""
    if preview is None:
        return None
    from PIL import Image

    first = preview[0].detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return ("JPEG", Image.fromarray(first), PREVIEW_MAX_SIDE)


def node_id(node_class) -> str | None:
    """The running node's id (V3 hidden input UNIQUE_ID), None outside ComfyUI's executor."""
    hidden = getattr(node_class, "hidden", None)
    return None if hidden is None else getattr(hidden, "unique_id", None)


def progress_callback(node: str | None = None) -> Callable:
    """An `nps_core` progress callback that drives a ComfyUI progress bar.

    node: the node id the bar belongs to (`node_id(cls)`; None = the executing node).
    Every call first checks ComfyUI's interrupt flag: `throw_exception_if_processing_interrupted`
    raises, and the core stops at once (cancel). The bar spans `windows x levels x iterations` steps
    and moves to `(window x levels + level) x iterations + iteration`; previews are sent at most
    every 0.25 s and at each level's end.
    """
    bar = comfy.utils.ProgressBar(1, node_id=node)
    last_preview = [0.0]

    def on_event(event) -> None:
        model_management.throw_exception_if_processing_interrupted()
        iterations = max(1, int(event.iterations))
        per_window = max(1, int(event.levels)) * iterations  # each context window an equal share
        total = max(1, int(event.windows)) * per_window
        value = min(int(event.window) * per_window + int(event.level) * iterations
                    + min(int(event.iteration), iterations), total)
        preview = None
        now = time.monotonic()
        level_done = int(event.iteration) >= iterations
        if event.preview is not None and (level_done or now - last_preview[0] >= PREVIEW_MIN_INTERVAL_S):
            preview = preview_image(event.preview)
            last_preview[0] = now
        bar.update_absolute(value, total=total, preview=preview)

    return on_event
