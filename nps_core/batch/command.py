"""`python -m nps_core batch IMAGES OUT`: the subcommand's options and its driver.

nps_core.cli wires it in and passes its own pieces (the inpaint options, the loader of the models),
so this package never imports the CLI module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import defaults
from ..errors import NPSInputError
from .plan import plan_batch
from .progress import BatchProgress
from .report import BatchReport, FileResult

RAY_OPTIONS = ("ray_address", "ray_workers", "ray_gpus_per_worker")


def add_batch_parser(sub, add_inpaint_options) -> argparse.ArgumentParser:
    """Add the `batch` subcommand to `sub` (argparse subparsers); add_inpaint_options(parser) adds
    every option of `inpaint` (backbone, iterations, alpha, ...), which apply to each file."""
    b = sub.add_parser(
        "batch", help="inpaint every image of a folder (or glob); resumable, on this machine or a Ray cluster",
        description="Inpaint every image under IMAGES into OUT (same relative paths). A rerun skips the "
        "results that exist; a bad file is reported and skipped; images without a hole are copied. "
        "The inpaint options apply to every file; --content-image is a folder of rough fills at the "
        "images' relative paths.",
    )
    b.add_argument("images", metavar="IMAGES",
                   help="a folder (searched recursively) or a quoted glob like 'shoot/**/*.jpg'")
    b.add_argument("out", metavar="OUT", help="output folder (results at the images' relative paths)")
    masks = b.add_mutually_exclusive_group()
    masks.add_argument("--masks", metavar="FOLDER", default=None,
                       help="masks at the same relative paths (any image extension); "
                       "default: each image's transparency")
    masks.add_argument("--mask", metavar="FILE", default=None, help="one mask (white = fill) for every image")
    b.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process, one file after another; ray: Ray Data actors (pip install -e \".[ray]\")")
    b.add_argument("--report", default=None, metavar="JSON",
                   help=f"the JSON report (default: OUT/{defaults.BATCH_REPORT_NAME})")
    b.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join this Ray cluster (e.g. 10.0.0.1:6379 or 'auto'); default: start a local one")
    b.add_argument("--ray-workers", type=int, default=None, metavar="N",
                   help="Ray actors (default: as many as the cluster's GPUs, or CPUs / --ray-cpus-per-worker, hold)")
    b.add_argument("--ray-gpus-per-worker", type=float, default=None, metavar="G",
                   help="GPUs per Ray actor (default: 1 if the cluster has GPUs, else 0 = CPU actors)")
    b.add_argument("--ray-cpus-per-worker", type=float, default=defaults.BATCH_RAY_CPUS_PER_WORKER, metavar="C",
                   help="CPUs per Ray actor, also its torch threads on CPU "
                   f"(default {defaults.BATCH_RAY_CPUS_PER_WORKER:g})")
    b.add_argument("--as-png", action="store_true",
                   help="write every result as .png (lossless) instead of keeping each input's extension")
    add_inpaint_options(b)
    try:
        b.add_argument("--jpeg-quality", type=int, default=None, metavar="Q",
                       help="JPEG results (inputs named .jpg) at this quality, 1..100: lossy, so only when asked")
    except argparse.ArgumentError:
        pass  # the inpaint options already define it
    return b


def check_engine_options(args) -> None:
    """Ray options only with --engine ray, and sane numbers; raised before anything is loaded."""
    if args.engine != "ray":
        given = [f"--{name.replace('_', '-')}" for name in RAY_OPTIONS if getattr(args, name) is not None]
        if given:
            raise NPSInputError(f"{', '.join(given)} only apply with --engine ray.")
        return
    if args.ray_workers is not None and args.ray_workers < 1:
        raise NPSInputError(f"--ray-workers must be at least 1, got {args.ray_workers}.")
    if args.ray_gpus_per_worker is not None and not args.ray_gpus_per_worker >= 0:
        raise NPSInputError(f"--ray-gpus-per-worker must be 0 or more, got {args.ray_gpus_per_worker}.")
    if not args.ray_cpus_per_worker > 0:
        raise NPSInputError(f"--ray-cpus-per-worker must be more than 0, got {args.ray_cpus_per_worker}.")


def run_batch(args, make_settings, stream=None) -> int:
    """Plan, run with the chosen engine, write the report. make_settings(options, device) loads the
    models (nps_core.cli.inpaint_settings); stream: messages and progress (default sys.stderr).
    Exit code: 0 all fine, 1 some files failed, 130 Ctrl-C."""
    stream = sys.stderr if stream is None else stream
    check_engine_options(args)
    plan = plan_batch(args.images, args.out, masks=args.masks, mask=args.mask, as_png=args.as_png,
                      jpeg_quality=args.jpeg_quality, contents=getattr(args, "content_image", None))
    report_path = Path(args.report) if args.report else plan.out_root / defaults.BATCH_REPORT_NAME
    # the report is rewritten by every run of the job, but it must never land on an input or a result
    from ..image_io import check_writable_path

    check_writable_path(report_path, [p for j in plan.jobs for p in (j.image, j.mask, j.out, j.content) if p],
                        "--report", overwrite=True)
    options = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None)))}
    report = BatchReport(engine=args.engine, images=args.images, out=args.out, options=options, ignored=plan.ignored)
    for job in plan.finished:
        report.add(FileResult(rel=job.rel, image=job.image, out=job.out, status="skipped", mask=job.mask))
    ignored = f", {len(plan.ignored)} non-image file(s) ignored" if plan.ignored else ""
    print(f"{len(plan.jobs)} image(s): {len(plan.todo)} to do, skipping {len(plan.finished)} finished "
          f"earlier{ignored}", file=stream)
    progress = BatchProgress(len(plan.todo), stream=stream, enabled=not args.quiet)
    interrupted = False
    try:
        if plan.todo and args.engine == "local":
            from .local import run_local
            from .worker import FileWorker

            interrupted = run_local(plan, FileWorker(args, make_settings), report, progress)
        elif plan.todo:
            from .ray_engine import run_ray

            interrupted = run_ray(plan, args, make_settings, report, progress, address=args.ray_address,
                                  workers=args.ray_workers, gpus_per_worker=args.ray_gpus_per_worker,
                                  cpus_per_worker=args.ray_cpus_per_worker)
    except KeyboardInterrupt:  # before the first file (e.g. while loading the models)
        interrupted = True
        reported = {r.rel for r in report.results}
        for job in plan.todo:
            if job.rel not in reported:
                report.add(FileResult(rel=job.rel, image=job.image, out=job.out, status="interrupted", mask=job.mask))
    progress.close()
    report.finish(interrupted=interrupted)
    report.write(report_path)
    print(report.summary(), file=stream)
    print(f"report: {report_path}", file=stream)
    if interrupted:
        return 130
    return 1 if report.counts()["failed"] else 0
