"""Command line: `python -m nps_core inpaint IMAGE [MASK] OUT` or `python -m nps_core inpaint --demo OUT`.

IMAGE is any image PIL reads. MASK is a greyscale image where white (>= threshold) marks the hole;
without MASK, IMAGE's transparent pixels are the hole. OUT is written as PNG.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import defaults
from .errors import NPSInputError, NPSWeightsError
from .paths import PACK_ROOT

DEMO_IMAGE = PACK_ROOT / "example_workflows" / "nps_example.png"


def load_image_and_mask(image_path, mask_path=None):
    """Read files -> (image [1,3,H,W] float 0..1, mask [1,1,H,W] float 0..1 where 1 = hole)."""
    from PIL import Image

    try:
        pil = Image.open(image_path)
        pil.load()
    except (OSError, ValueError) as exc:
        raise NPSInputError(f"cannot read image {image_path}: {exc}") from None
    rgba = np.asarray(pil.convert("RGBA"), dtype=np.float32) / 255.0
    image = torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1)[None]
    if mask_path is None:
        if "A" not in pil.getbands() and pil.mode != "P":
            raise NPSInputError(
                f"{image_path} has no transparency, so it cannot serve as its own mask; pass a MASK file "
                f"(white = fill) or an image whose hole is transparent."
            )
        mask = torch.from_numpy(1.0 - rgba[..., 3].copy())[None, None]
    else:
        try:
            mpil = Image.open(mask_path)
            mpil.load()
        except (OSError, ValueError) as exc:
            raise NPSInputError(f"cannot read mask {mask_path}: {exc}") from None
        mask = torch.from_numpy(np.asarray(mpil.convert("L"), dtype=np.float32) / 255.0)[None, None]
    return image, mask


def save_image(image: torch.Tensor, path) -> None:
    """[1,3,H,W] or [3,H,W] float 0..1 -> 8-bit PNG at path (parent folders created)."""
    from PIL import Image

    x = image[0] if image.dim() == 4 else image
    arr = (x.detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


class TextProgress:
    """Prints one line per level and a running percentage to stderr."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.started = time.perf_counter()

    def __call__(self, event):
        done = event.iteration == event.iterations
        if event.iteration == 1 or done or event.iteration % 10 == 0:
            pct = 100.0 * event.iteration / max(1, event.iterations)
            terms = " ".join(f"{k}={v:.4g}" for k, v in event.losses.items())
            self.stream.write(
                f"\rlevel {event.level + 1}/{event.levels} {pct:5.1f}% "
                f"({time.perf_counter() - self.started:6.1f} s) {terms}   "
            )
            if done:
                self.stream.write("\n")
            self.stream.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nps_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inpaint", help="fill the hole of one image")
    p.add_argument("paths", nargs="*", help="IMAGE [MASK] OUT, or just OUT with --demo")
    p.add_argument("--demo", action="store_true", help=f"use the bundled example ({DEMO_IMAGE.name})")
    add_inpaint_options(p)
    p.add_argument("--report", default=None, help="write per-level loss terms and timings as JSON here")
    from .batch.command import add_batch_parser

    add_batch_parser(sub, add_inpaint_options)
    return parser


def add_inpaint_options(p: argparse.ArgumentParser) -> None:
    """The options of one inpainting run (shared by `inpaint` and `batch`)."""
    p.add_argument("--backbone", default=defaults.BACKBONE,
                   help="texture network: efficientnet_lite0 (default), vgg19 (paper; needs its weights file), vgg19_random (testing)")
    p.add_argument("--layers", default="", help="comma-separated texture layers (default: the backbone's)")
    p.add_argument("--vgg-weights", default=None, help="path of vgg19-dcbb9e9d.pth or a slim safetensors")
    p.add_argument("--content-weights", default=None, help="content network safetensors (default: shipped)")
    p.add_argument("--content-image", default=None, metavar="PATH",
                   help="a rough fill of IMAGE from any inpainter (LaMa, MAT, diffusion, a painted guide), any "
                   "resolution: used as the content instead of the content network; the texture levels refine it")
    p.add_argument("--iterations", type=int, default=defaults.ITERATIONS, help="L-BFGS iterations per level")
    p.add_argument("--alpha", type=float, default=defaults.ALPHA, help="texture weight")
    p.add_argument("--beta", type=float, default=defaults.BETA, help="total-variation weight")
    p.add_argument("--refresh-every", type=int, default=defaults.REFRESH_EVERY, help="re-match patches every N iterations")
    p.add_argument("--synthesis-steps", type=int, default=defaults.SYNTHESIS_STEPS, metavar="N",
                   help=f"synthesis steps per pyramid level before its optimisation: coherent texture-feature "
                   f"patch matches copied and blended into the hole (the coarsest level runs "
                   f"{defaults.SYNTHESIS_FIRST_STEPS}); 0 = off, the paper's plain optimisation "
                   f"(default {defaults.SYNTHESIS_STEPS})")
    p.add_argument("--plain", action="store_true",
                   help="the paper's plain per-level optimisation, no synthesis step (same as --synthesis-steps 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthesis step's random patch search")
    p.add_argument("--threshold", type=float, default=defaults.THRESHOLD, help="mask values >= this are hole")
    p.add_argument("--feather", type=int, default=defaults.FEATHER, help="seam feather radius (px)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def inpaint_settings(args, device=None) -> dict:
    """Inpaint options -> keyword arguments of `pipeline.inpaint` with the models loaded.

    The content network (unless --content-image gives rough fills instead) and, when alpha > 0 or
    synthesis is on, the texture backbone are loaded here, on `device` (default: args.device), so a
    caller that keeps the dict loads them once.
    """
    from .pipeline import resolve_content_net, synthesis_for_steps
    from .texture import make_texture_settings

    device = torch.device(args.device if device is None else device)
    synthesis = synthesis_for_steps(0 if args.plain else args.synthesis_steps, seed=args.seed)
    texture = make_texture_settings(
        args.backbone, layers=args.layers or None, weights_path=args.vgg_weights,
        refresh_every=args.refresh_every, device=device,
    ) if args.alpha > 0 or synthesis.enabled else None
    # with rough fills (--content-image) the content network is not needed, so not loaded
    content_net = args.content_weights if args.content_image else resolve_content_net(args.content_weights, device)
    return dict(
        content_net=content_net, texture=texture,
        alpha=args.alpha, beta=args.beta, iterations=args.iterations, threshold=args.threshold,
        feather=args.feather, device=device, synthesis=synthesis,
    )


def run_inpaint(args) -> int:
    from .pipeline import inpaint

    paths = list(args.paths)
    if args.demo:
        if len(paths) != 1:
            raise NPSInputError("with --demo give exactly one path: where to write the PNG.")
        image_path, mask_path, out_path = DEMO_IMAGE, None, paths[0]
    elif len(paths) == 2:
        image_path, mask_path, out_path = paths[0], None, paths[1]
    elif len(paths) == 3:
        image_path, mask_path, out_path = paths
    else:
        raise NPSInputError("usage: python -m nps_core inpaint IMAGE [MASK] OUT  (or --demo OUT)")
    image, mask = load_image_and_mask(image_path, mask_path)
    content = None
    if args.content_image:
        from .image_io import read_image

        content = read_image(args.content_image, what="--content-image").image_tensor()
    settings = inpaint_settings(args)
    result = inpaint(image, mask, callback=None if args.quiet else TextProgress(), content=content, **settings)
    texture, synthesis = settings["texture"], settings["synthesis"]
    save_image(result.image, out_path)
    if not args.quiet:
        if texture is not None:
            print(f"texture: {texture.describe()}", file=sys.stderr)
        print(result.describe(), file=sys.stderr)
    print(f"wrote {out_path} ({result.seconds:.1f} s)")
    if args.report:
        levels = [{"size": list(r.size), "iterations": r.iterations, "seconds": r.seconds,
                   "synthesis_seconds": r.synthesis_seconds, "start_losses": r.start_losses,
                   "losses": r.losses, "notes": r.notes} for r in result.levels]
        report = {"seconds": result.seconds, "synthesis": synthesis.describe(),
                  "synthesis_settings": dataclasses.asdict(synthesis), "levels": levels}
        Path(args.report).write_text(json.dumps(report, indent=2))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "inpaint":
            return run_inpaint(args)
        if args.command == "batch":
            from .batch.command import run_batch

            return run_batch(args, inpaint_settings)
    except (NPSInputError, NPSWeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1
