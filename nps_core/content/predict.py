"""Running a content network on images of any size: `prepare_input`, `predict_content` (optionally
averaged over flipped and transposed views of the input)."""

from __future__ import annotations

import torch

from ..options import check_content_views
from ..pyramid import downsample_mask, resize_image
from ..validation import check_finite, check_image_mask
from .factory import ContentNetwork
from .fills import known_mean_colour


def prepare_input(image: torch.Tensor, mask: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize image/mask to `size`x`size`, mean-fill the hole, append the mask.

    image `[B, 3, H, W]` in 0..1, mask `[B, 1, H, W]` (> 0.5 = hole), same device. Returns (x
    `[B, 4, size, size]`, resized binary mask `[B, 1, size, size]`), on that device. The image is
    resized hole-agnostically (`resize_image` with the mask: known low-resolution pixels are
    averages of known pixels only) and the mask conservatively; the fill colour is the mean of the
    known pixels at the input resolution. The pixels under the hole never reach x.
    """
    check_image_mask(image, mask, "prepare_input")
    colour = known_mean_colour(image, mask)
    small = resize_image(image, size, mask=mask)
    small_mask = downsample_mask(mask, size).to(small.dtype)
    filled = torch.where(small_mask > 0.5, colour, small)
    return torch.cat([filled, small_mask], dim=1), small_mask


def dihedral_view(x: torch.Tensor, k: int) -> torch.Tensor:
    """View k (0..7) of x [..., H, W] under the square's symmetries: bit 4 transposes H and W, then
    bit 1 flips W, bit 2 flips H (0 = x itself). `undo_view` inverts it."""
    if k & 4:
        x = x.transpose(-1, -2)
    if k & 1:
        x = x.flip(-1)
    if k & 2:
        x = x.flip(-2)
    return x


def undo_view(x: torch.Tensor, k: int) -> torch.Tensor:
    """Inverse of `dihedral_view(., k)`."""
    if k & 2:
        x = x.flip(-2)
    if k & 1:
        x = x.flip(-1)
    if k & 4:
        x = x.transpose(-1, -2)
    return x


def predict_content(model: ContentNetwork, image: torch.Tensor, mask: torch.Tensor, views: int = 1) -> torch.Tensor:
    """Raw content-network prediction for an image of any size.

    image `[B, 3, H, W]` in 0..1, mask `[B, 1, H, W]` (1 = hole), any device. The image is resized
    to `model.config.size` (antialiased bilinear, from the known pixels only), the mask
    conservatively (a pixel touched by the hole stays hole), the hole is mean-filled, the network
    runs under no_grad in eval mode on the model's device, and the output is resized back to H x W.
    views (1, 2, 4, 8): the network also sees the input flipped and transposed (`dihedral_view`,
    all views in one batch) and the predictions, turned back, are averaged: the mean over views
    cancels each view's own guesses (defaults.CONTENT_VIEWS). Returns `[B, 3, H, W]` float32 in
    0..1 on the image's device; it is NOT composited with the known pixels. The model's training
    mode is restored afterwards.
    """
    check_image_mask(image, mask, "predict_content")
    check_finite(image, "image", "predict_content", hint="clean the input image.")
    views = check_content_views(views)
    param = next(model.parameters())
    size = model.config.size
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x, _ = prepare_input(image.to(param.device, torch.float32), mask.to(param.device, torch.float32), size)
            x = torch.cat([dihedral_view(x, k) for k in range(views)])  # square: every view has x's shape
            pred = model(x.to(param.dtype)).float().chunk(views)
            out = torch.stack([undo_view(p, k) for k, p in enumerate(pred)]).mean(0)
            out = resize_image(out, tuple(image.shape[-2:]))
    finally:
        model.train(was_training)
    return out.to(image.device)
