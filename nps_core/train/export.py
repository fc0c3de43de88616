"""Exporting a trained content network: the one metadata schema and the one writer.

Every exported file (the trainer's `best.safetensors`, `--export-best`, `--export` from a
checkpoint) is written by `export_content_net`: fp16 safetensors with the architecture record
(`nps_core.content.save_content_net`) and these metadata keys (values JSON-encoded strings):

- `trained`: "true" (placeholder files say `random_init` instead);
- `steps`, `train_seconds`: training steps and seconds spent in them;
- `batch`, `lambda`: batch size and the L2 weight of the loss;
- `val`: {"l1", "l2", "psnr"} on the validation set at export ({} when not validated);
- `best_val_psnr`: the best validation PSNR of the run (null before any validation);
- `data`: the training folder's name; `train_images`: its photo count (null when unknown);
- `settings`: the run's whole `TrainSettings` as a JSON object.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from ..content import ContentNetwork, save_content_net


def export_metadata(settings: dict, step: int, train_seconds: float, best_psnr: float,
                    val: dict[str, float] | None = None, train_images: int | None = None) -> dict:
    """The metadata of an exported file; `settings` is `dataclasses.asdict(TrainSettings)`."""
    data = settings.get("data") or ""
    return {
        "trained": "true",
        "steps": int(step),
        "batch": settings.get("batch"),
        "train_seconds": round(float(train_seconds), 1),
        "lambda": settings.get("lam"),
        "val": val or {},
        "best_val_psnr": float(best_psnr) if math.isfinite(best_psnr) else None,
        "data": os.path.basename(os.path.normpath(data)) if data else "",
        "train_images": train_images,
        "settings": settings,
    }


def export_content_net(model: ContentNetwork, path: str | os.PathLike, metadata: dict) -> Path:
    """Write `model` (fp16 safetensors, atomically) with `metadata` from `export_metadata`."""
    return save_content_net(model, path, dtype=torch.float16, metadata=metadata)
