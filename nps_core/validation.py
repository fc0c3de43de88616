"""Checks of the tensors callers hand to nps_core: one place for every shape (and value) rule.

Each check raises `NPSInputError` whose message names the input, what it is, what was expected
and, where the caller gives one, the fix (`hint`). `where` prefixes the message with the
function the input was given to ("predict_content: image has shape ..."). Checks never modify or
copy their inputs.

Layouts (docs/ARCHITECTURE.md): images `[B, 3, H, W]` float in 0..1, masks `[B, 1, H, W]` with
1 = hole.
"""

from __future__ import annotations

import torch

from .errors import NPSInputError


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _shape(x) -> str:
    return str(tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__


def check_bchw(x, name: str, where: str = "", channels: int | None = None, hint: str = "") -> None:
    """`x` is a 4-D tensor `[B, C, H, W]` (with C == `channels` when given)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or (channels is not None and x.shape[1] != channels):
        layout = f"[B,{channels},H,W]" if channels is not None else "[B,C,H,W]"
        raise NPSInputError(
            f"{_prefix(where)}{name} has shape {_shape(x)}; expected a {layout} tensor." + (f" {hint}" if hint else "")
        )


def check_image(image, name: str = "image", where: str = "", hint: str = "") -> None:
    """`image` is an RGB tensor `[B, 3, H, W]`."""
    check_bchw(image, name, where, channels=3, hint=hint or "Images are [B,3,H,W] in 0..1 (channels first).")


def check_mask(mask, name: str = "mask", where: str = "", hint: str = "") -> None:
    """`mask` is a one-channel tensor `[B, 1, H, W]` (1 = hole)."""
    check_bchw(mask, name, where, channels=1, hint=hint or "Masks are [B,1,H,W] with 1 = hole.")


BATCH_RULES = ("same", "same_or_one", "any")


def check_same_size(
    x: torch.Tensor,
    image: torch.Tensor,
    where: str = "",
    names: tuple[str, str] = ("mask", "image"),
    batch: str = "same",
    hint: str = "",
) -> None:
    """`x` has `image`'s height and width, and a batch size by the rule `batch`: "same",
    "same_or_one" (1 is broadcast) or "any"."""
    batches = {"same": (image.shape[0],), "same_or_one": (1, image.shape[0]), "any": None}[batch]
    if tuple(x.shape[-2:]) != tuple(image.shape[-2:]) or (batches is not None and x.shape[0] not in batches):
        wanted = {"same": " and the same batch size", "same_or_one": " and batch 1 or the same batch size",
                  "any": ""}[batch]
        raise NPSInputError(
            f"{_prefix(where)}{names[0]} {tuple(x.shape)} does not match {names[1]} {tuple(image.shape)}; "
            + (hint or f"give the {names[0]} the {names[1]}'s height and width{wanted}.")
        )


def check_image_mask(image, mask, where: str = "", batch: str = "same", hint: str = "") -> None:
    """`image` `[B, 3, H, W]` and `mask` `[B, 1, H, W]` of the same size, batch by the rule `batch`
    (see `check_same_size`)."""
    check_image(image, where=where)
    check_mask(mask, where=where)
    check_same_size(mask, image, where, batch=batch, hint=hint)


def check_finite(x: torch.Tensor, name: str, where: str = "", hint: str = "") -> None:
    """`x` holds no NaN or infinite value."""
    if not torch.isfinite(x).all():
        raise NPSInputError(
            f"{_prefix(where)}{name} contains NaN or infinite values; "
            + (hint or "fix the node that produced it (values must be finite, images in 0..1).")
        )
