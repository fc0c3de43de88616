"""Validation and layout conversion of user images and masks.

ComfyUI passes IMAGE as [B, H, W, C] float 0..1 and MASK as [B, H, W] (1 = fill). The library works
on images [B, 3, H, W] float32 and masks [B, 1, H, W] in {0, 1}. Everything here returns new
tensors on the input's device; inputs are never modified.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .errors import NPSInputError
from .validation import check_finite


def comfy_image_to_bchw(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """ComfyUI IMAGE [B,H,W,C] (C = 1, 3 or 4; any float dtype) -> float32 [B,3,H,W] clamped to 0..1.

    A single [H,W,C] image is accepted as batch 1. Alpha is dropped, grey is repeated to RGB.
    """
    if not isinstance(image, torch.Tensor):
        raise NPSInputError(f"{name} must be a torch tensor [B,H,W,3], got {type(image).__name__}.")
    if image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or image.shape[-1] not in (1, 3, 4):
        raise NPSInputError(
            f"{name} must have shape [B,H,W,3] (ComfyUI IMAGE), got {tuple(image.shape)}."
        )
    if image.shape[1] < 1 or image.shape[2] < 1 or image.shape[0] < 1:
        raise NPSInputError(f"{name} is empty: shape {tuple(image.shape)}.")
    x = image.to(torch.float32)
    check_finite(x, name)
    x = x[..., :3] if x.shape[-1] >= 3 else x.expand(*x.shape[:-1], 3)
    return x.permute(0, 3, 1, 2).clamp(0.0, 1.0).contiguous()


def bchw_to_comfy_image(x: torch.Tensor) -> torch.Tensor:
    """float [B,3,H,W] -> new float32 ComfyUI IMAGE [B,H,W,3] on the same device."""
    return x.detach().to(torch.float32).permute(0, 2, 3, 1).contiguous().clone()


def as_bchw_image(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Accept [3,H,W] or [B,3,H,W] (or C=1/4) library-layout images; return float32 [B,3,H,W] in 0..1."""
    if image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or image.shape[1] not in (1, 3, 4):
        raise NPSInputError(f"{name} must have shape [B,3,H,W], got {tuple(image.shape)}.")
    x = image.to(torch.float32)
    check_finite(x, name)
    x = x[:, :3] if x.shape[1] >= 3 else x.expand(-1, 3, -1, -1)
    return x.clamp(0.0, 1.0).contiguous()


def prepare_mask(
    mask: torch.Tensor,
    size_hw: tuple[int, int],
    batch: int,
    threshold: float = 0.5,
    name: str = "mask",
) -> torch.Tensor:
    """Mask in any common layout -> binary float32 [batch,1,H,W] (1 = hole) on the mask's device.

    mask: [H,W], [B,H,W] (ComfyUI MASK) or [B,1,H,W]; any float/bool dtype; values 0..1.
    A mask of another spatial size than `size_hw` is resized bilinearly before thresholding (ComfyUI's
    LoadImage returns a 64x64 empty mask for images without alpha). Soft masks: values >= threshold
    become hole. A batch of 1 is broadcast to `batch`; any other mismatch is an error.
    """
    if not isinstance(mask, torch.Tensor):
        raise NPSInputError(f"{name} must be a torch tensor [B,H,W], got {type(mask).__name__}.")
    if not 0.0 < threshold <= 1.0:
        raise NPSInputError(f"threshold must be in (0, 1], got {threshold}.")
    m = mask
    if m.dim() == 2:
        m = m.unsqueeze(0)
    if m.dim() == 3:
        m = m.unsqueeze(1)
    if m.dim() != 4 or m.shape[1] != 1:
        raise NPSInputError(
            f"{name} must have shape [B,H,W] (ComfyUI MASK) or [B,1,H,W], got {tuple(mask.shape)}."
        )
    m = m.to(torch.float32)
    check_finite(m, name)
    if tuple(m.shape[-2:]) != tuple(size_hw):
        m = F.interpolate(m, size=tuple(size_hw), mode="bilinear", align_corners=False)
    m = (m >= threshold).to(torch.float32)
    if m.shape[0] != batch:
        if m.shape[0] != 1:
            raise NPSInputError(
                f"{name} has batch size {m.shape[0]} but the image has {batch}; give one mask for "
                f"all images or exactly one per image."
            )
        m = m.expand(batch, -1, -1, -1)
    return m.contiguous()


def match_batch(image: torch.Tensor, batch: int, name: str = "image") -> torch.Tensor:
    """Broadcast a batch-1 tensor [1,...] to `batch`; same batch passes through; anything else is an error."""
    if image.shape[0] == batch:
        return image
    if image.shape[0] == 1:
        return image.expand(batch, *image.shape[1:]).contiguous()
    raise NPSInputError(
        f"{name} has batch size {image.shape[0]} but {batch} is needed; use batch 1 or {batch}."
    )


def broadcast_pair(image: torch.Tensor, mask: torch.Tensor, threshold: float = 0.5):
    """Library-layout image [B,3,H,W] and mask (any layout) -> (image [N,3,H,W], mask [N,1,H,W]).

    N is the larger batch; a batch of 1 on either side is broadcast (1-to-N).
    """
    m_batch = mask.shape[0] if mask.dim() >= 3 else 1
    batch = max(image.shape[0], m_batch)
    image = match_batch(image, batch)
    mask = prepare_mask(mask, tuple(image.shape[-2:]), batch, threshold)
    return image, mask.to(image.device)
