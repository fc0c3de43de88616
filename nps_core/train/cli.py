"""Command line of `python -m nps_core.train`.

Train:   python -m nps_core.train --data PHOTOS --val-data HELDOUT --run-dir /root/nps-runs/x [--resume]
Export:  python -m nps_core.train --run-dir /root/nps-runs/x --export OUT.safetensors [--export-from best|last]
         (with --export-from last, also passing the run's --data [--val-data] and architecture flags
         recomputes BatchNorm statistics first and stores validation numbers in the file)
Bench:   python -m nps_core.train --data PHOTOS --throughput 20    (samples/s of a config, no files written)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from ..content import ENCODERS, RESIDUAL_BASES, ContentNetConfig, build_content_net
from ..paths import default_content_weights_path
from .export import export_content_net, export_metadata
from .trainer import BEST_NAME, CHECKPOINT_NAME, Trainer, TrainSettings, log, read_checkpoint


def _int_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.replace(" ", "").split(",") if t)


def build_parser() -> argparse.ArgumentParser:
    d = TrainSettings()
    p = argparse.ArgumentParser(prog="python -m nps_core.train", description="Train the NPS content network.")
    p.add_argument("--data", help="folder of training photographs (searched recursively)")
    p.add_argument("--val-data", help="folder of held-out photographs for validation")
    p.add_argument("--run-dir", default=d.run_dir, help="checkpoints, logs and best.safetensors go here (outside git)")
    p.add_argument("--device", default=d.device, help="cpu, cuda, cuda:1 ...")
    p.add_argument("--resume", action="store_true", help="continue exactly from <run-dir>/checkpoint_last.pt")
    p.add_argument("--init", default="shipped",
                   help="warm-start weights when no checkpoint exists: 'shipped', a .safetensors path, or 'none'")
    p.add_argument("--size", type=int, default=d.size)
    p.add_argument("--channels", type=_int_tuple, default=d.channels, help="encoder widths, e.g. 64,64,128,256,512")
    p.add_argument("--bottleneck", type=int, default=d.bottleneck)
    p.add_argument("--norm", default=d.norm, choices=("batch", "none"))
    p.add_argument("--skips", action="store_true", help="additive U-Net skips (see ContentNetConfig.skips)")
    p.add_argument("--residual", action="store_true",
                   help="predict a logit-space correction to the mean-filled input (see ContentNetConfig.residual)")
    p.add_argument("--residual-base", default=d.residual_base, choices=RESIDUAL_BASES,
                   help="base fill that --residual corrects (see ContentNetConfig.residual_base)")
    p.add_argument("--encoder", default=d.encoder, choices=ENCODERS,
                   help="conv: the paper's encoder, trained from scratch; efficientnet_lite0: frozen ImageNet "
                        "encoder (needs --skips --residual and 5 --channels; see ContentNetConfig.encoder)")
    p.add_argument("--init-zero-output", action="store_true",
                   help="after warm-starting, zero the last decoder layer "
                   "(residual nets then start at their base fill)")
    p.add_argument("--disc-channels", type=_int_tuple, default=d.disc_channels)
    p.add_argument("--disc-downsample", type=int, default=d.disc_downsample,
                   help="the discriminator sees the window shrunk by this factor")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--disc-lr", type=float, default=d.disc_lr)
    p.add_argument("--lam", type=float, default=d.lam, help="weight of hole L2; 1-lam weights the adversarial loss")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--decay-from", type=int, default=None, help="step where linear learning-rate decay starts")
    p.add_argument("--decay-to", type=int, default=None, help="step where the learning rate reaches 10%%")
    p.add_argument("--max-steps", type=int, default=d.max_steps)
    p.add_argument("--max-minutes", type=float, default=d.max_minutes)
    p.add_argument("--val-every", type=int, default=d.val_every, help="validate every N steps")
    p.add_argument("--val-samples", type=int, default=d.val_samples)
    p.add_argument("--checkpoint-minutes", type=float, default=d.checkpoint_minutes)
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--cache-side", type=int, default=d.cache_side, help="photos are cached with this shorter side")
    p.add_argument("--max-images", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--export-best", default=None, help="also write each new best model (fp16 safetensors) here")
    p.add_argument("--export", default=None, metavar="OUT", help="export a checkpoint of --run-dir to OUT and exit")
    p.add_argument("--export-from", default="best", choices=("best", "last"))
    p.add_argument("--throughput", type=int, default=None, metavar="STEPS",
                   help="time STEPS training steps of this config (no checkpoints) and print samples/s")
    return p


def _export(args) -> int:
    run_dir = Path(args.run_dir)
    out = Path(args.export)
    if args.export_from == "best" and (run_dir / BEST_NAME).is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        shutil.copyfile(run_dir / BEST_NAME, tmp)  # already an exported file: copied as it is
        os.replace(tmp, out)
        log(f"exported {run_dir / BEST_NAME} -> {out}")
        return 0
    ck = run_dir / CHECKPOINT_NAME
    if not ck.is_file():
        print(f"error: no {BEST_NAME} or {CHECKPOINT_NAME} in '{run_dir}'; train first or pass the right --run-dir",
              file=sys.stderr)
        return 2
    state = read_checkpoint(ck)
    model = build_content_net(ContentNetConfig.from_json(state["config_json"]))
    model.load_state_dict(state["model"])
    meta = export_metadata(json.loads(state["settings_json"]), state["step"], state.get("train_seconds", 0.0),
                           state["best_psnr"])
    export_content_net(model, out, meta)
    log(f"exported {ck} (step {state['step']}) -> {out}")
    return 0


def _settings_from_args(args) -> TrainSettings:
    return TrainSettings(
        data=args.data, val_data=args.val_data, run_dir=args.run_dir, device=args.device, size=args.size,
        channels=args.channels, bottleneck=args.bottleneck, norm=args.norm, skips=args.skips, residual=args.residual,
        residual_base=args.residual_base, encoder=args.encoder, init_zero_output=args.init_zero_output,
        disc_channels=args.disc_channels, disc_downsample=args.disc_downsample,
        batch=args.batch, lr=args.lr, disc_lr=args.disc_lr, lam=args.lam, seed=args.seed,
        decay_from=args.decay_from, decay_to=args.decay_to,
        max_steps=args.max_steps, max_minutes=args.max_minutes, val_every=args.val_every,
        val_samples=args.val_samples, checkpoint_minutes=args.checkpoint_minutes, log_every=args.log_every,
        cache_side=args.cache_side, max_images=args.max_images,
        export_best=args.export_best, threads=args.threads,
    )


def _export_recalibrated(args) -> int:
    """Export the last checkpoint after recomputing BatchNorm statistics on --data (and validating
    on --val-data, whose numbers go into the file's metadata)."""
    ck = Path(args.run_dir) / CHECKPOINT_NAME
    if not ck.is_file():
        print(f"error: no {CHECKPOINT_NAME} in '{args.run_dir}'; train first or pass the right --run-dir",
              file=sys.stderr)
        return 2
    trainer = Trainer(_settings_from_args(args))
    trainer.load_checkpoint(ck)
    val = trainer.validate() if trainer.val_set is not None else None
    if val is None:
        trainer.recalibrate_batchnorm()
    trainer.model.eval()
    trainer.export(args.export, val)
    log(f"exported {ck} (step {trainer.step}, BatchNorm recalibrated on --data"
        + (f", val hole L1 {val['l1']:.4f} PSNR {val['psnr']:.2f} dB" if val else "") + f") -> {args.export}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.export:
        if args.export_from == "last" and args.data:
            return _export_recalibrated(args)
        return _export(args)
    if not args.data:
        print("error: --data FOLDER is required for training (or pass --export OUT)", file=sys.stderr)
        return 2
    settings = _settings_from_args(args)
    if args.throughput:
        return _throughput(settings, args.throughput)
    ck = Path(args.run_dir) / CHECKPOINT_NAME
    if ck.exists() and not args.resume:
        print(f"error: '{ck}' exists; pass --resume to continue that run or choose a new --run-dir", file=sys.stderr)
        return 2
    trainer = Trainer(settings)
    if args.resume and ck.exists():
        trainer.load_checkpoint(ck)
    elif args.init and args.init != "none":
        trainer.warm_start(default_content_weights_path() if args.init == "shipped" else args.init)

    stop = {"flag": False}

    def _on_signal(signum, _frame):
        log(f"signal {signum}: saving a checkpoint and stopping")
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    trainer.train(stop_flag=lambda: stop["flag"])
    return 0


def _throughput(settings: TrainSettings, steps: int) -> int:
    settings.val_data = None
    trainer = Trainer(settings)
    trainer.train_step()  # warm-up
    t = time.time()
    for _ in range(steps):
        trainer.train_step()
    dt = time.time() - t
    print(f"bottleneck {settings.bottleneck} batch {settings.batch} lam {settings.lam}: "
          f"{steps * settings.batch / dt:.1f} samples/s ({dt / steps:.2f} s/step)")
    return 0
