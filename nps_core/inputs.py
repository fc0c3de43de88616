"""Validation and layout conversion of user images and masks.

ComfyUI passes IMAGE as [B, H, W, C] float 0..1 and MASK as [B, H, W] (1 = fill). The library works
on images [B, 3, H, W] float32 and masks [B, 1, H, W] in {0, 1}. Everything here returns new
tensors on the input's device; inputs are never modified.

Accepted values (documented conversions, nothing clamped silently):
- torch tensors or numpy arrays (converted with `torch.from_numpy`, same layout rules);
- float dtypes (fp16/bf16/fp64 -> float32) holding 0..1; values up to `defaults.IMAGE_RANGE_TOLERANCE`
  outside (resampling ringing) are used as given; further out (0..255 floats, -1..1) is an error;
- uint8 (divided by 255) and uint16 (divided by 65535); other integer dtypes are an error;
- masks may also be bool (True = hole).
Layout of library images: channels first, [B,C,H,W] or [C,H,W] with C = 1, 3 or 4 (grey repeated,
alpha dropped). A last dimension of 3 or 4 is refused as ambiguous (it looks like channels last),
so images 3 or 4 pixels wide cannot be given channels first.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import defaults
from .errors import NPSInputError
from .options import check_threshold
from .validation import check_finite

CHANNELS = (1, 3, 4)
MASK_ASPECT_TOLERANCE = 0.01  # a resized mask must have the image's aspect ratio within 1% (or be empty)


def as_tensor(value, name: str, allow_bool: bool = False) -> torch.Tensor:
    """torch tensor or numpy array -> float32 tensor in 0..1 units (see the module docstring).

    uint8 / uint16 are scaled by 255 / 65535; bool (masks only) becomes 0/1; finite floats are
    checked to lie in 0..1 within defaults.IMAGE_RANGE_TOLERANCE. Shape is not looked at here.
    """
    if isinstance(value, np.ndarray):
        if value.dtype == object or value.dtype.kind not in "biuf":
            raise NPSInputError(f"{name} is a numpy array of {value.dtype}; give numbers (float 0..1 or uint8).")
        value = torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, torch.Tensor):
        raise NPSInputError(f"{name} must be a torch tensor (or numpy array), got {type(value).__name__}.")
    if value.numel() == 0:
        raise NPSInputError(f"{name} is empty: shape {tuple(value.shape)}.")
    dtype = value.dtype
    if dtype == torch.bool:
        if not allow_bool:
            raise NPSInputError(f"{name} is a bool tensor; images must be float 0..1 or uint8.")
        return value.to(torch.float32)
    if dtype == torch.uint8:
        return value.to(torch.float32) / 255.0
    if dtype == torch.uint16:
        return value.to(torch.float32) / 65535.0
    if not dtype.is_floating_point:
        raise NPSInputError(
            f"{name} has dtype {str(dtype).replace('torch.', '')}; give float 0..1, uint8 (0..255) or uint16."
        )
    x = value.to(torch.float32)
    check_unit_range(x, name)
    return x


def check_unit_range(x: torch.Tensor, name: str) -> None:
    """Float tensor (any float dtype) must be finite and in 0..1 within defaults.IMAGE_RANGE_TOLERANCE."""
    check_finite(x, name)
    lo, hi = float(x.min()), float(x.max())
    tol = defaults.IMAGE_RANGE_TOLERANCE
    if lo < -tol or hi > 1.0 + tol:
        looks_8bit = 1.0 + tol < hi <= 255.0 + tol and lo >= -tol
        hint = " (it looks like 0..255: divide by 255 or pass uint8)" if looks_8bit else ""
        raise NPSInputError(f"{name} values span {lo:g}..{hi:g}, but must be in 0..1{hint}.")


def comfy_image_to_bchw(image, name: str = "image") -> torch.Tensor:
    """ComfyUI IMAGE [B,H,W,C] (C = 1, 3 or 4; float 0..1, uint8, numpy) -> float32 [B,3,H,W].

    A single [H,W,C] image is accepted as batch 1. Alpha is dropped, grey is repeated to RGB.
    Values are used as given (see the module docstring for the accepted range).
    """
    if not isinstance(image, (torch.Tensor, np.ndarray)):
        raise NPSInputError(f"{name} must be a torch tensor [B,H,W,3], got {type(image).__name__}.")
    shape = tuple(image.shape)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4 or shape[-1] not in CHANNELS:
        raise NPSInputError(
            f"{name} must have shape [B,H,W,3] (ComfyUI IMAGE), got {tuple(image.shape)}."
        )
    x = as_tensor(image, name).reshape(shape)
    x = x[..., :3] if x.shape[-1] >= 3 else x.expand(*x.shape[:-1], 3)
    return x.permute(0, 3, 1, 2).contiguous()


def bchw_to_comfy_image(x: torch.Tensor) -> torch.Tensor:
    """float [B,3,H,W] -> new float32 ComfyUI IMAGE [B,H,W,3] on the same device."""
    return x.detach().to(torch.float32).permute(0, 2, 3, 1).contiguous().clone()


def _bchw_shape(image, name: str) -> tuple:
    """Checked [B,C,H,W] shape of a library-layout image ([3,H,W] counts as batch 1)."""
    if not isinstance(image, (torch.Tensor, np.ndarray)):
        raise NPSInputError(f"{name} must be a torch tensor [B,3,H,W], got {type(image).__name__}.")
    shape = tuple(image.shape)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4:
        raise NPSInputError(f"{name} must have shape [B,3,H,W] or [3,H,W], got {tuple(image.shape)}.")
    if shape[-1] in (3, 4):
        raise NPSInputError(
            f"{name} has shape {tuple(image.shape)}: its last dimension ({shape[-1]}) looks like colour "
            f"channels (channels last), but the library reads [B,3,H,W]. Permute it "
            f"(x.permute(0, 3, 1, 2), or x.permute(2, 0, 1) for one [H,W,3] image); images 3 or 4 px wide "
            f"are not accepted channels first because the layout would be ambiguous."
        )
    if shape[1] not in CHANNELS:
        raise NPSInputError(f"{name} must have shape [B,3,H,W] (1, 3 or 4 channels), got {tuple(image.shape)}.")
    return shape


def as_bchw_image(image, name: str = "image") -> torch.Tensor:
    """Library-layout image [3,H,W] or [B,3,H,W] (C = 1/3/4; tensor or numpy; float 0..1, uint8,
    uint16) -> float32 [B,3,H,W], values as given. Channels-last input is refused with the fix."""
    shape = _bchw_shape(image, name)
    x = as_tensor(image, name).reshape(shape)
    x = x[:, :3] if x.shape[1] >= 3 else x.expand(-1, 3, -1, -1)
    return x.contiguous()


def image_source(image, name: str = "image") -> torch.Tensor:
    """A library-layout image kept in its own dtype where it can be: the same inputs as
    `as_bchw_image`; uint8 and float tensors come back as a view [B,3,H,W] (no copy: grey expanded,
    alpha dropped; floats checked finite and in 0..1 item by item), other dtypes as float32.

    Big photos stay 8-bit this way; each context window is converted on its own (`unit_float`).
    """
    shape = _bchw_shape(image, name)
    x = torch.from_numpy(image) if isinstance(image, np.ndarray) and image.dtype.kind in "uf" else image
    if isinstance(x, torch.Tensor) and (x.dtype == torch.uint8 or x.dtype.is_floating_point):
        x = x.reshape(shape)
        if x.numel() == 0:
            raise NPSInputError(f"{name} is empty: shape {tuple(image.shape)}.")
        if x.dtype.is_floating_point:
            for b in range(x.shape[0]):  # item by item: the checks' temporaries stay one image
                check_unit_range(x[b], name)
    else:
        x = as_tensor(image, name).reshape(shape)
    return x[:, :3] if x.shape[1] >= 3 else x.expand(-1, 3, -1, -1)


def unit_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 (0..255) or float -> float32 in 0..1 units (uint8 / 255; floats cast, possibly the same
    tensor: clone before writing into it)."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(255.0)
    return x.to(torch.float32)


def like_source(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """float 0..1 -> `dtype`: uint8 rounds to 0..255, floats are cast."""
    if dtype == torch.uint8:
        return x.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
    return x.to(dtype)


def hole_mask(
    mask,
    size_hw: tuple[int, int],
    batch: int,
    threshold: float = 0.5,
    name: str = "mask",
) -> torch.Tensor:
    """Mask in any common layout -> bool [1 or batch,1,H,W] (True = hole) on the mask's device.

    The same inputs, checks and conventions as `prepare_mask`, without a float copy of a full-size
    mask and without repeating a batch-1 mask (callers index item 0 for every image): a
    12000 x 12000 mask costs 144 MB here, not 576 MB.
    """
    threshold = check_threshold(threshold)
    if not isinstance(mask, (torch.Tensor, np.ndarray)):
        raise NPSInputError(f"{name} must be a torch tensor [B,H,W], got {type(mask).__name__}.")
    m = torch.from_numpy(mask) if isinstance(mask, np.ndarray) and mask.dtype.kind in "bu" else mask
    if not isinstance(m, torch.Tensor) or m.dtype not in (torch.bool, torch.uint8):
        m = as_tensor(mask, name, allow_bool=True)          # floats (checked), uint16, numpy floats
    elif m.numel() == 0:
        raise NPSInputError(f"{name} is empty: shape {tuple(mask.shape)}.")
    if m.dim() == 2:
        m = m.unsqueeze(0)
    if m.dim() == 3:
        m = m.unsqueeze(1)
    if m.dim() != 4 or m.shape[1] != 1:
        raise NPSInputError(
            f"{name} must have shape [B,H,W] (ComfyUI MASK) or [B,1,H,W], got {tuple(mask.shape)}."
        )
    if m.shape[0] not in (1, batch):
        raise NPSInputError(
            f"{name} has batch size {m.shape[0]} but the image has {batch}; give one mask for "
            f"all images or exactly one per image."
        )
    if tuple(m.shape[-2:]) == tuple(size_hw):
        if m.dtype == torch.bool:
            return m
        return m >= threshold * 255.0 if m.dtype == torch.uint8 else m >= threshold
    m = m.to(torch.float32) if m.dtype == torch.bool else (m.to(torch.float32) / 255.0 if m.dtype == torch.uint8 else m)
    mh, mw = int(m.shape[-2]), int(m.shape[-1])
    ih, iw = int(size_hw[0]), int(size_hw[1])
    if abs(mw / mh - iw / ih) > MASK_ASPECT_TOLERANCE * (iw / ih) and bool((m >= threshold).any()):
        raise NPSInputError(
            f"{name} is {mh}x{mw} (HxW, from shape {tuple(mask.shape)}) but the image is {ih}x{iw}: a "
            f"different aspect ratio, so it cannot mark the same pixels. Give a mask of the image's size "
            f"as [H,W], [B,H,W] or [B,1,H,W]."
        )
    m = F.interpolate(m, size=tuple(size_hw), mode="bilinear", align_corners=False)
    return m >= threshold


def prepare_mask(
    mask: torch.Tensor,
    size_hw: tuple[int, int],
    batch: int,
    threshold: float = 0.5,
    name: str = "mask",
) -> torch.Tensor:
    """Mask in any common layout -> binary float32 [batch,1,H,W] (1 = hole) on the mask's device.

    mask: [H,W], [B,H,W] (ComfyUI MASK) or [B,1,H,W]; tensor or numpy; float 0..1, bool, uint8
    (/255). A mask of another spatial size than `size_hw` is resized bilinearly before thresholding
    when it has the image's aspect ratio (within 1%) or marks no hole (ComfyUI's LoadImage returns a
    64x64 empty mask for images without alpha); another aspect ratio is an error (e.g. an [H,W,1]
    array read as [B,H,W]). Soft masks: values >= threshold become hole. A batch of 1 is broadcast to
    `batch`; any other mismatch is an error.
    """
    m = hole_mask(mask, size_hw, batch, threshold, name).to(torch.float32)
    return m.expand(batch, -1, -1, -1).contiguous()


def match_batch(image: torch.Tensor, batch: int, name: str = "image") -> torch.Tensor:
    """Broadcast a batch-1 tensor [1,...] to `batch`; same batch passes through; anything else is an error."""
    if image.shape[0] == batch:
        return image
    if image.shape[0] == 1:
        return image.expand(batch, *image.shape[1:]).contiguous()
    raise NPSInputError(
        f"{name} has batch size {image.shape[0]} but {batch} is needed; use batch 1 or {batch}."
    )


def pair_batch(image, mask) -> int:
    """Batch size N of an image [B,...] and a mask ([H,W] counts as 1): equal, or one of them 1."""
    m_batch = mask.shape[0] if len(getattr(mask, "shape", ())) >= 3 else 1
    if image.shape[0] != m_batch and 1 not in (image.shape[0], m_batch):
        raise NPSInputError(
            f"image has batch size {image.shape[0]} but the mask has batch size {m_batch}; give one mask "
            f"for all images, one image for all masks, or the same number of each."
        )
    return max(image.shape[0], m_batch)


def broadcast_pair(image: torch.Tensor, mask: torch.Tensor, threshold: float = 0.5):
    """Library-layout image [B,3,H,W] and mask (any layout) -> (image [N,3,H,W], mask [N,1,H,W]).

    N is the larger batch; a batch of 1 on either side is broadcast (1-to-N).
    """
    batch = pair_batch(image, mask)
    image = match_batch(image, batch)
    mask = prepare_mask(mask, tuple(image.shape[-2:]), batch, threshold)
    return image, mask.to(image.device)
