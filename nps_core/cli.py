"""Command line: `python -m nps_core inpaint IMAGE [MASK] OUT` or `python -m nps_core inpaint --demo OUT`.

IMAGE is any image Pillow reads, as a viewer shows it (EXIF orientation applied, 16-bit scaled).
MASK is an image where white (>= threshold) marks the hole; without MASK, IMAGE's transparent
pixels are the hole. OUT's extension picks its format (.png, .tif, .webp, .bmp: lossless; .jpg only
with --jpeg-quality); OUT keeps IMAGE's orientation, channels and bit depth.

Every option and path is checked before any work. Exit codes: 0 = OUT written; 2 = a user mistake
(bad option, unreadable or over-budget file, unsafe OUT, no hole), printed as one `error: ...` line;
1 = out of memory; 130 = interrupted (Ctrl-C). OUT is written atomically, so an existing file is
never left damaged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import torch

from . import defaults
from .errors import NPSInputError, NPSOutOfMemoryError, NPSPathError, NPSWeightsError
from .paths import PACK_ROOT

DEMO_IMAGE = PACK_ROOT / "example_workflows" / "nps_example.png"
EXIT_USER_ERROR = 2
EXIT_OUT_OF_MEMORY = 1
EXIT_INTERRUPTED = 130


class TextProgress:
    """Prints one line per level and a running percentage to stderr."""

    def __init__(self, stream=None):
        self.stream = sys.stderr if stream is None else stream
        self.started = time.perf_counter()
        self.open_line = False

    def __call__(self, event):
        done = event.iteration == event.iterations
        if event.iteration == 1 or done or event.iteration % 10 == 0:
            pct = 100.0 * event.iteration / max(1, event.iterations)
            terms = " ".join(f"{k}={v:.4g}" for k, v in event.losses.items())
            where = f"window {event.window + 1}/{event.windows} " if event.windows > 1 else ""
            self.stream.write(
                f"\r{where}level {event.level + 1}/{event.levels} {pct:5.1f}% "
                f"({time.perf_counter() - self.started:6.1f} s) {terms}   "
            )
            self.open_line = not done
            if done:
                self.stream.write("\n")
            self.stream.flush()

    def end_line(self) -> None:
        """Finish a half-written progress line (before an error message)."""
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one `error: ...` line (exit 2), no usage dump."""

    def error(self, message):
        self.exit(EXIT_USER_ERROR, f"error: {message} (see: {self.prog} --help)\n")


# ----------------------------------------------------------------------------- options

def add_fill_options(p: argparse.ArgumentParser) -> None:
    """Options of the fill itself (shared by every subcommand that inpaints)."""
    p.add_argument("--backbone", default=defaults.BACKBONE,
                   help="texture network: efficientnet_lite0 (default), vgg19 (paper; needs its weights file), "
                   "vgg19_random (testing)")
    p.add_argument("--layers", default="", help="comma-separated texture layers (default: the backbone's)")
    p.add_argument("--vgg-weights", default=None, help="path of vgg19-dcbb9e9d.pth or a slim safetensors")
    p.add_argument("--content-weights", default=None, help="content network safetensors (default: shipped)")
    p.add_argument("--content-image", default=None, metavar="PATH",
                   help="a rough fill of IMAGE from any inpainter (LaMa, MAT, diffusion, a painted guide), any "
                   "resolution: used as the content instead of the content network; the texture levels refine it")
    p.add_argument("--iterations", type=int, default=defaults.ITERATIONS,
                   help=f"L-BFGS iterations per level, 0..{defaults.MAX_ITERATIONS} (default {defaults.ITERATIONS})")
    p.add_argument("--alpha", type=float, default=defaults.ALPHA,
                   help=f"texture weight, 0..{defaults.MAX_WEIGHT:g} (default {defaults.ALPHA})")
    p.add_argument("--beta", type=float, default=defaults.BETA,
                   help=f"total-variation weight, 0..{defaults.MAX_WEIGHT:g} (default {defaults.BETA})")
    p.add_argument("--refresh-every", type=int, default=defaults.REFRESH_EVERY,
                   help="re-match patches every N iterations")
    p.add_argument("--synthesis-steps", type=int, default=defaults.SYNTHESIS_STEPS, metavar="N",
                   help=f"synthesis steps per pyramid level before its optimisation: coherent texture-feature "
                   f"patch matches copied and blended into the hole (the coarsest level runs "
                   f"{defaults.SYNTHESIS_FIRST_STEPS}); 0 = off, the paper's plain optimisation "
                   f"(default {defaults.SYNTHESIS_STEPS}, at most {defaults.MAX_SYNTHESIS_STEPS})")
    p.add_argument("--content-views", type=int, default=defaults.CONTENT_VIEWS, metavar="N",
                   help=f"the content network sees the coarsest level in N flipped / transposed views and the "
                   f"predictions are averaged: one of {', '.join(map(str, defaults.CONTENT_VIEW_COUNTS))} "
                   f"(default {defaults.CONTENT_VIEWS}; 1 = once, as in the paper)")
    p.add_argument("--plain", action="store_true",
                   help="the paper's plain pipeline: no synthesis step (as --synthesis-steps 0) and one content "
                   "network pass (as --content-views 1)")
    p.add_argument("--source-scale", type=float, default=defaults.SOURCE_SCALE, metavar="F",
                   help=f"the synthesis copies patches from the context window grown to F times its side (clipped "
                   f"to the image): more source for small holes in large photos, at more cost; 1..."
                   f"{defaults.MAX_WINDOW_SCALE:g} (default {defaults.SOURCE_SCALE:g} = the window only)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthesis step's random patch search")
    p.add_argument("--threshold", type=float, default=defaults.THRESHOLD,
                   help="mask values >= this are hole, in (0, 1]")
    p.add_argument("--feather", type=int, default=defaults.FEATHER,
                   help=f"seam feather radius, whole px 0..{defaults.MAX_FEATHER} (0 = known pixels bit-exact)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="cpu, cuda, cuda:N or mps (default: cuda when available)")


def add_inpaint_options(p: argparse.ArgumentParser) -> None:
    """The options of one inpainting run (shared by `inpaint` and `batch`): the fill, the files, --quiet."""
    add_fill_options(p)
    add_file_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress output")


def add_file_options(p: argparse.ArgumentParser) -> None:
    """Options about reading and writing image files (shared by every subcommand that writes images)."""
    p.add_argument("--max-megapixels", type=float, default=defaults.MAX_IMAGE_PIXELS / 1e6, metavar="MP",
                   help="refuse to decode images larger than this (default %(default).0f megapixels; "
                   "a guard against decompression bombs and running out of memory)")
    p.add_argument("--jpeg-quality", type=int, default=None, metavar="Q",
                   help="allow a lossy .jpg/.jpeg OUT, at this quality 1..100 (without it a JPEG OUT is refused)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m nps_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    p = sub.add_parser("inpaint", help="fill the hole of one image",
                       description="Fill the hole of one image. " + " ".join(__doc__.split("\n\n")[1].split()))
    p.add_argument("paths", nargs="*", help="IMAGE [MASK] OUT, or just OUT with --demo")
    p.add_argument("--demo", action="store_true", help=f"use the bundled example ({DEMO_IMAGE.name})")
    add_inpaint_options(p)
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing OUT (and --report); without it an existing file is never touched")
    p.add_argument("--report", default=None, help="write per-level loss terms and timings as JSON here")
    from .batch.command import add_batch_parser

    add_batch_parser(sub, add_inpaint_options)
    return parser


@dataclasses.dataclass(frozen=True)
class FillSettings:
    """The fill options of a command line, validated (nps_core.options) before anything is read."""

    alpha: float
    beta: float
    iterations: int
    threshold: float
    feather: int
    refresh_every: int
    device: torch.device
    synthesis: object  # SynthesisSettings
    content_views: int
    max_pixels: int


def check_fill_settings(args) -> FillSettings:
    """Validate the numbers and the device of `add_fill_options` / `add_file_options`; NPSOptionError."""
    from . import options
    from .pipeline import synthesis_for_steps

    steps = options.check_int(args.synthesis_steps, "--synthesis-steps", 0, defaults.MAX_SYNTHESIS_STEPS)
    seed = options.check_int(args.seed, "--seed", 0, 2**63 - 1)
    megapixels = options.check_float(args.max_megapixels, "--max-megapixels", maximum=1e6, above=0.0)
    views = options.check_content_views(args.content_views, "--content-views")  # checked with --plain too
    return FillSettings(
        alpha=options.check_weight(args.alpha, "--alpha"),
        beta=options.check_weight(args.beta, "--beta"),
        iterations=options.check_iterations(args.iterations, "--iterations"),
        threshold=options.check_threshold(args.threshold, "--threshold"),
        feather=options.check_feather(args.feather, "--feather"),
        refresh_every=options.check_int(args.refresh_every, "--refresh-every", 1, defaults.MAX_ITERATIONS),
        device=options.check_device(args.device, "--device"),
        synthesis=synthesis_for_steps(0 if args.plain else steps, seed=seed,
                                      source_scale=options.check_float(args.source_scale, "--source-scale", 1.0,
                                                                       defaults.MAX_WINDOW_SCALE)),
        content_views=1 if args.plain else views,
        max_pixels=max(1, int(megapixels * 1e6)),
    )


def split_paths(args):
    """(image_path, mask_path or None, out_path) from the positional paths and --demo."""
    paths = list(args.paths)
    if args.demo:
        if len(paths) != 1:
            raise NPSInputError("with --demo give exactly one path: where to write the PNG.")
        return DEMO_IMAGE, None, paths[0]
    if len(paths) == 2:
        return paths[0], None, paths[1]
    if len(paths) == 3:
        return tuple(paths)
    hint = (" (only IMAGE given: add OUT, e.g. result.png; IMAGE is never overwritten)" if len(paths) == 1 else "")
    raise NPSInputError(f"usage: python -m nps_core inpaint IMAGE [MASK] OUT  (or --demo OUT){hint}")


def inpaint_settings(args, device=None) -> dict:
    """Inpaint options -> keyword arguments of `pipeline.inpaint` with the models loaded.

    The options are validated first (check_fill_settings). The content network (unless
    --content-image gives rough fills instead) and, when alpha > 0 or synthesis is on, the texture
    backbone are loaded here, on `device` (default: --device), so a caller that keeps the dict
    (the batch workers) loads them once.
    """
    from .options import check_device
    from .pipeline import resolve_content_net
    from .texture import make_texture_settings

    settings = check_fill_settings(args)
    device = settings.device if device is None else check_device(device)
    texture = None
    if settings.alpha > 0 or settings.synthesis.enabled:
        texture = make_texture_settings(
            args.backbone, layers=args.layers or None, weights_path=args.vgg_weights,
            refresh_every=settings.refresh_every, device=device,
        )
    # with rough fills (--content-image) the content network is not needed, so not loaded
    content_net = args.content_weights if args.content_image else resolve_content_net(args.content_weights, device)
    return dict(
        content_net=content_net, texture=texture, alpha=settings.alpha, beta=settings.beta,
        iterations=settings.iterations, threshold=settings.threshold, feather=settings.feather,
        device=device, synthesis=settings.synthesis, content_views=settings.content_views,
    )


# ----------------------------------------------------------------------------- inpaint

def run_inpaint(args, progress: TextProgress | None = None) -> int:
    from . import image_io
    from .inputs import prepare_mask
    from .pipeline import inpaint

    image_path, mask_path, out_path = split_paths(args)
    settings = check_fill_settings(args)
    inputs = [image_path, mask_path, args.content_weights, args.vgg_weights, args.content_image]
    try:
        plan = image_io.plan_output(out_path, inputs, jpeg_quality=args.jpeg_quality, overwrite=args.overwrite)
    except NPSPathError as exc:
        if mask_path is None and not args.demo and "already exists" in str(exc):
            raise NPSPathError(f"{exc} (With two paths the second is OUT; if {out_path} is your MASK, "
                               f"add an OUT path.)") from None
        raise
    if args.report is not None:
        image_io.check_writable_path(args.report, [*inputs, out_path], "--report", args.overwrite)

    image = image_io.read_image(image_path, max_pixels=settings.max_pixels)
    hole_file = image_io.read_hole(image, mask_path, settings.threshold, settings.max_pixels)
    if not hole_file.has_hole(settings.threshold):
        where = ("MASK has no pixel at or above --threshold " f"{settings.threshold:g} and no transparent pixel"
                 if mask_path is not None else "IMAGE has no transparent pixel")
        raise NPSInputError(f"nothing to fill: {where} ({hole_file.path}); nothing was written.")
    mask = prepare_mask(hole_file.tensor(), image.size_hw, 1, settings.threshold)
    hole = mask[0, 0].numpy() > 0.5
    image_io.check_output(plan, image, hole)  # a format that cannot hold the result fails before compute
    content = None
    if args.content_image:
        content = image_io.read_image(args.content_image, settings.max_pixels, what="--content-image").image_tensor()

    kwargs = inpaint_settings(args)
    texture = kwargs["texture"]
    result = inpaint(image.pipeline_tensor(), mask, callback=progress, content=content, **kwargs)
    image_io.save_image(plan, result.image, like=image, hole=hole)
    if not args.quiet:
        print(image.describe(), file=sys.stderr)
        print(hole_file.describe(settings.threshold), file=sys.stderr)
        if texture is not None:
            print(f"texture: {texture.describe()}", file=sys.stderr)
        print(result.describe(), file=sys.stderr)
    print(f"wrote {plan.path} ({result.seconds:.1f} s)")
    if args.report:
        image_io.write_text_atomic(args.report, json.dumps(report_json(result, settings.synthesis), indent=2))
    return 0


def report_json(result, synthesis) -> dict:
    """The --report file: total seconds, synthesis settings, per-level loss terms and timings."""
    levels = [{"size": list(r.size), "iterations": r.iterations, "seconds": r.seconds,
               "synthesis_seconds": r.synthesis_seconds, "start_losses": r.start_losses,
               "losses": r.losses, "notes": r.notes} for r in result.levels]
    return {"seconds": result.seconds, "synthesis": synthesis.describe(),
            "synthesis_settings": dataclasses.asdict(synthesis), "levels": levels}


# ----------------------------------------------------------------------------- entry point

def main(argv=None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    progress = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as stop:  # --help (0) or a malformed command line (2, message printed)
            return stop.code if isinstance(stop.code, int) else EXIT_USER_ERROR
        progress = None if getattr(args, "quiet", True) else TextProgress()
        if args.command == "inpaint":
            return run_inpaint(args, progress)
        if args.command == "batch":
            from .batch.command import run_batch

            check_fill_settings(args)  # bad options fail before the folder is even listed
            progress = None
            return run_batch(args, inpaint_settings)
    except (NPSInputError, NPSWeightsError) as exc:
        _report(progress, f"error: {exc}")
        return EXIT_USER_ERROR
    except NPSOutOfMemoryError as exc:
        _report(progress, f"error: {exc}")
        return EXIT_OUT_OF_MEMORY
    except KeyboardInterrupt:
        _report(progress, "error: interrupted (Ctrl-C); a file being written was left unchanged.")
        return EXIT_INTERRUPTED
    return 1


def _report(progress, line: str) -> None:
    if progress is not None:
        progress.end_line()
    print(" ".join(line.split()), file=sys.stderr)
