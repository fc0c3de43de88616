"""Content-network training loop: loss, validation, checkpoints, exact resume, export.

Loss (Yang et al. 2017, after Pathak et al.): `lam * L2(hole) + (1 - lam) * adversarial`,
lam = 0.999 by default. L2 is the mean squared error over hole pixels; the adversarial term is
the non-saturating GAN loss of `HoleDiscriminator` on the window with the prediction
composited into the hole. Adam for both networks; CUDA autocast (bf16 where supported, else
fp16 with a grad scaler) on CUDA devices, plain fp32 on CPU.

A checkpoint (`<run_dir>/checkpoint_last.pt`) holds both networks, both optimisers, the grad
scaler, the step, the best validation PSNR and the torch/python RNG states; batches are a pure
function of (seed, step), so `resume` continues exactly where the killed run stopped.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..content import (
    ContentNetConfig,
    build_content_net,
    count_parameters,
    load_content_net,
    prepare_input,
    read_content_net_metadata,
)
from ..errors import NPSWeightsError
from .data import PhotoSet, batch_for_step, fixed_eval_set, load_photo_set
from .discriminator import HoleDiscriminator
from .export import export_content_net, export_metadata
from .metrics import hole_errors, summarise

CHECKPOINT_NAME = "checkpoint_last.pt"
BEST_NAME = "best.safetensors"


_ARCH = ContentNetConfig()  # architecture defaults come from the model's own config


@dataclass
class TrainSettings:
    """Everything that defines a run (stored in the checkpoint and the exported metadata)."""

    data: str = ""
    val_data: str | None = None
    run_dir: str = "/root/nps-runs/content"
    device: str = "cpu"
    # architecture (flat so the command line and checkpoints stay simple; see content_config())
    size: int = _ARCH.size
    channels: tuple[int, ...] = _ARCH.channels
    bottleneck: int = _ARCH.bottleneck
    norm: str = _ARCH.norm
    skips: bool = _ARCH.skips
    residual: bool = _ARCH.residual
    residual_base: str = _ARCH.residual_base
    encoder: str = _ARCH.encoder
    init_zero_output: bool = False
    disc_channels: tuple[int, ...] = (32, 64, 128, 256)
    disc_downsample: int = 2
    batch: int = 32
    lr: float = 2e-4
    disc_lr: float = 2e-4
    lam: float = 0.999
    seed: int = 0
    decay_from: int | None = None
    decay_to: int | None = None
    max_steps: int = 10**9
    max_minutes: float = 1e9
    val_every: int = 200
    val_samples: int = 96
    checkpoint_minutes: float = 5.0
    log_every: int = 10
    cache_side: int = 512
    max_images: int | None = None
    export_best: str | None = None
    threads: int | None = None

    def content_config(self) -> ContentNetConfig:
        return ContentNetConfig(size=self.size, channels=tuple(self.channels), bottleneck=self.bottleneck,
                                norm=self.norm, skips=self.skips, residual=self.residual,
                                residual_base=self.residual_base, encoder=self.encoder)


def read_checkpoint(path: str | Path) -> dict:
    """The dict `Trainer.save_checkpoint` wrote (CPU tensors; read weights-only)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def log(msg: str) -> None:
    print(f"[train {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Trainer:
    """Holds the networks, optimisers and data of one run. `train()` runs until a limit is hit."""

    def __init__(self, settings: TrainSettings, photos: PhotoSet | None = None, val_photos: PhotoSet | None = None):
        self.s = settings
        if settings.threads:
            torch.set_num_threads(settings.threads)
        self.device = torch.device(settings.device)
        self.run_dir = Path(settings.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(settings.seed)
        random.seed(settings.seed)
        self.model = build_content_net(settings.content_config())
        if settings.encoder == "efficientnet_lite0":
            from ..content.lite_net import load_imagenet_encoder

            load_imagenet_encoder(self.model)  # a warm start or checkpoint later overwrites it
        self.model = self.model.to(self.device, memory_format=torch.channels_last)
        self.disc = HoleDiscriminator(tuple(settings.disc_channels), settings.disc_downsample).to(
            self.device, memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.model.trainable_parameters(), lr=settings.lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=settings.disc_lr, betas=(0.5, 0.999))
        self.use_amp = self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.use_amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.step = 0
        self.best_psnr = -math.inf
        self.history: list[dict] = []
        self.train_seconds = 0.0
        if photos is None:
            photos = load_photo_set(settings.data, settings.cache_side, settings.max_images)
        self.photos = photos
        self.val_photos = val_photos
        if self.val_photos is None and settings.val_data:
            self.val_photos = load_photo_set(settings.val_data, settings.cache_side)
        self.val_set = None
        if self.val_photos is not None:
            per_image = max(1, math.ceil(settings.val_samples / len(self.val_photos)))
            imgs, masks, _, _ = fixed_eval_set(self.val_photos, settings.size, per_image=per_image,
                                               max_samples=settings.val_samples)
            self.val_set = (imgs, masks)

    # ------------------------------------------------------------------ init / checkpoints
    def warm_start(self, path: str | Path) -> bool:
        """Copy weights from an exported content-net file if it is trained and its tensors have our
        shapes (the skips/residual flags may differ: the weights are then a starting point for a
        related function). With `init_zero_output` the last decoder layer is zeroed afterwards, so
        a residual network starts exactly at its base fill."""
        path = Path(path)
        if not path.is_file():
            return False
        try:
            meta = read_content_net_metadata(path)
            if meta.get("random_init") == "true":
                log(f"not warm-starting from {path}: it holds random placeholder weights")
                return False
            src = load_content_net(path, device="cpu")
        except NPSWeightsError as exc:
            log(f"not warm-starting from {path}: {exc}")
            return False
        ours = self.model.state_dict()
        theirs = src.state_dict()
        if ours.keys() != theirs.keys() or any(ours[k].shape != theirs[k].shape for k in ours):
            log(f"not warm-starting from {path}: architecture {src.config} differs from {self.model.config}")
            return False
        self.model.load_state_dict(theirs)
        if self.s.init_zero_output:
            self.model.reset_output()
        log(f"warm-started the content network from {path} ({src.config})"
            + ("; last decoder layer zeroed" if self.s.init_zero_output else ""))
        return True

    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT_NAME

    def state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "disc": self.disc.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "best_psnr": self.best_psnr,
            "train_seconds": self.train_seconds,
            "history_json": json.dumps(self.history),
            "settings_json": json.dumps(asdict(self.s)),
            "config_json": self.model.config.to_json(),
            "torch_rng": torch.random.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python_rng_json": json.dumps(random.getstate()),
        }

    def save_checkpoint(self) -> Path:
        path = self.checkpoint_path()
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state(), tmp)
        os.replace(tmp, path)
        return path

    def load_checkpoint(self, path: str | Path | None = None) -> None:
        path = Path(path) if path else self.checkpoint_path()
        ck = read_checkpoint(path)
        if ck["config_json"] != self.model.config.to_json():
            raise ValueError(
                f"checkpoint {path} was trained with architecture {ck['config_json']}, "
                f"not {self.model.config.to_json()}; pass the same --bottleneck/--channels or use a new --run-dir"
            )
        self.model.load_state_dict(ck["model"])
        self.disc.load_state_dict(ck["disc"])
        self.opt_g.load_state_dict(ck["opt_g"])
        self.opt_d.load_state_dict(ck["opt_d"])
        self.scaler.load_state_dict(ck["scaler"])
        self.step = int(ck["step"])
        self.best_psnr = float(ck["best_psnr"])
        self.train_seconds = float(ck.get("train_seconds", 0.0))
        self.history = json.loads(ck.get("history_json", "[]"))
        torch.random.set_rng_state(ck["torch_rng"])
        if ck.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["cuda_rng"])
        state = json.loads(ck["python_rng_json"])
        random.setstate((state[0], tuple(state[1]), state[2]))
        log(f"resumed from {path} at step {self.step} (best val PSNR {self.best_psnr:.2f} dB)")

    # ------------------------------------------------------------------ one step
    def make_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The (images, masks) batch of `step` (CPU); a pure function of (seed, step)."""
        return batch_for_step(self.photos, self.s.seed, step, self.s.batch, self.s.size)

    def lr_factor(self, step: int) -> float:
        """Learning-rate multiplier of `step`: 1 until decay_from, then linear down to 0.1 at decay_to."""
        a, b = self.s.decay_from, self.s.decay_to
        if a is None or b is None or step <= a:
            return 1.0
        return 1.0 - 0.9 * min(1.0, (step - a) / max(1, b - a))

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, float]:
        """One optimisation step of D then G on the batch of `self.step` (pass it if already made);
        returns the losses."""
        s = self.s
        images, masks = batch if batch is not None else self.make_batch(self.step)
        factor = self.lr_factor(self.step)
        for group in self.opt_g.param_groups:
            group["lr"] = s.lr * factor
        for group in self.opt_d.param_groups:
            group["lr"] = s.disc_lr * factor
        images = images.to(self.device, non_blocking=True)
        masks = masks.to(self.device, non_blocking=True)
        x, _ = prepare_input(images, masks, s.size)
        x = x.contiguous(memory_format=torch.channels_last)
        self.model.train()
        self.disc.train()
        amp = torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp)
        adv_w = 1.0 - s.lam
        with amp:
            pred = self.model(x).float()
        composite = images * (1 - masks) + pred * masks

        d_loss = torch.zeros((), device=self.device)
        if adv_w > 0:
            self.opt_d.zero_grad(set_to_none=True)
            with amp:
                real = self.disc(images, masks).float()
                fake = self.disc(composite.detach(), masks).float()
            d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
                F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
            self.scaler.scale(d_loss).backward()
            self.scaler.step(self.opt_d)

        self.opt_g.zero_grad(set_to_none=True)
        hole_count = (masks.sum() * 3).clamp_min(1.0)
        rec = ((pred - images) ** 2 * masks).sum() / hole_count
        adv = torch.zeros((), device=self.device)
        if adv_w > 0:
            for p in self.disc.parameters():
                p.requires_grad_(False)
            with amp:
                fake_g = self.disc(composite, masks).float()
            adv = F.binary_cross_entropy_with_logits(fake_g, torch.ones_like(fake_g))
            for p in self.disc.parameters():
                p.requires_grad_(True)
        g_loss = s.lam * rec + adv_w * adv
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        self.step += 1
        return {"rec": float(rec.detach()), "adv": float(adv.detach()), "d": float(d_loss.detach()),
                "g": float(g_loss.detach())}

    # ------------------------------------------------------------------ validation / export
    @torch.no_grad()
    def recalibrate_batchnorm(self, batches: int = 8) -> None:
        """Recompute BatchNorm running statistics as exact averages over `batches` fixed training
        batches at the current weights (the momentum averages lag far behind early in training and
        make eval-mode predictions much worse than train-mode ones). Does not touch the weights."""
        norms = [m for m in self.model.modules()
                 if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                 and m.weight is not None and m.weight.requires_grad]
        if not norms:
            return
        saved = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        self.model.train()
        for i in range(batches):
            images, masks = batch_for_step(self.photos, self.s.seed + 7919, i, self.s.batch, self.s.size)
            x, _ = prepare_input(images.to(self.device), masks.to(self.device), self.s.size)
            self.model(x.contiguous(memory_format=torch.channels_last))
        for m, momentum in zip(norms, saved, strict=True):
            m.momentum = momentum

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Hole L1/L2/PSNR of the model (eval mode, after `recalibrate_batchnorm`) on the fixed
        validation set."""
        if self.val_set is None:
            return {}
        self.recalibrate_batchnorm()
        self.model.eval()
        imgs, masks = self.val_set
        totals: dict[str, list[torch.Tensor]] = {"l1": [], "l2": [], "psnr": []}
        for i in range(0, imgs.shape[0], 32):
            im = imgs[i : i + 32].to(self.device)
            m = masks[i : i + 32].to(self.device)
            x, _ = prepare_input(im, m, self.s.size)
            pred = self.model(x).float()
            for k, v in hole_errors(pred, im, m).items():
                totals[k].append(v.cpu())
        self.model.train()
        return summarise({k: torch.cat(v) for k, v in totals.items()})

    def export(self, path: str | Path, val: dict[str, float] | None = None) -> Path:
        """Write the model as an exported file (`nps_core.train.export`) with `val` in its metadata."""
        meta = export_metadata(asdict(self.s), self.step, self.train_seconds, self.best_psnr, val, len(self.photos))
        return export_content_net(self.model, path, meta)

    # ------------------------------------------------------------------ loop
    def train(self, stop_flag=lambda: False) -> None:
        """Train until max_steps / max_minutes / stop_flag(); validate, checkpoint and export on the way."""
        s = self.s
        start = time.time()
        last_ckpt = time.time()
        window_t, window_n = time.time(), 0
        log(f"content net {self.model.config} ({count_parameters(self.model) / 1e6:.2f} M params), "
            f"D {count_parameters(self.disc) / 1e6:.2f} M params, {len(self.photos)} train photos, "
            f"val {0 if self.val_set is None else self.val_set[0].shape[0]} samples, device {self.device}")
        if self.step == 0 and self.val_set is not None:
            self._validate_and_export()  # the starting point counts (a warm start may already be good)
        pool = ThreadPoolExecutor(max_workers=1)  # makes the next batch while this step computes
        upcoming = pool.submit(self.make_batch, self.step)
        while self.step < s.max_steps and (time.time() - start) < s.max_minutes * 60 and not stop_flag():
            t0 = time.time()
            batch = upcoming.result()
            upcoming = pool.submit(self.make_batch, self.step + 1)
            losses = self.train_step(batch)
            self.train_seconds += time.time() - t0
            window_n += s.batch
            if not all(math.isfinite(v) for v in losses.values()):
                raise FloatingPointError(f"non-finite loss at step {self.step}: {losses}")
            if self.step % s.log_every == 0:
                rate = window_n / max(time.time() - window_t, 1e-9)
                window_t, window_n = time.time(), 0
                log(f"step {self.step} rec {losses['rec']:.4f} adv {losses['adv']:.3f} D {losses['d']:.3f} "
                    f"lr x{self.lr_factor(self.step - 1):.2f} | {rate:.1f} samples/s")
            if self.val_set is not None and self.step % s.val_every == 0:
                self._validate_and_export()
            if time.time() - last_ckpt > s.checkpoint_minutes * 60:
                self.save_checkpoint()
                last_ckpt = time.time()
                log(f"checkpoint saved at step {self.step}")
        pool.shutdown(wait=True, cancel_futures=True)
        self.save_checkpoint()
        log(f"stopped at step {self.step}; checkpoint {self.checkpoint_path()}")

    def _validate_and_export(self) -> None:
        val = self.validate()
        improved = val["psnr"] > self.best_psnr
        self.history.append({"step": self.step, **val})
        log(f"validation step {self.step}: hole L1 {val['l1']:.4f} L2 {val['l2']:.5f} PSNR {val['psnr']:.2f} dB"
            + (" (best)" if improved else f" (best {self.best_psnr:.2f})"))
        if improved:
            self.best_psnr = val["psnr"]
            self.export(self.run_dir / BEST_NAME, val)
            if self.s.export_best:
                self.export(self.s.export_best, val)
                log(f"exported best model to {self.s.export_best}")
        with open(self.run_dir / "history.json", "w") as f:
            json.dump(self.history, f, indent=1)
