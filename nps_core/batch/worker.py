"""The per-file worker: models loaded once, then one image at a time, results written atomically.

Both engines use it: the local engine keeps one FileWorker for the run, each Ray actor keeps its own.
Files are read and written with nps_core.image_io, as the inpaint command does (orientation, bit
depth, alpha and metadata kept; temp file + rename).
"""

from __future__ import annotations

import glob
import shutil
import time
from pathlib import Path

import torch

from .. import image_io
from ..errors import NPSFileError, NPSInputError, NPSWeightsError
from ..inputs import prepare_mask
from .plan import Job
from .report import FileResult


def error_text(exc: BaseException) -> str:
    """One line for the report: the pack's own errors by message, anything else with its type."""
    if isinstance(exc, (NPSInputError, NPSWeightsError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def remove_partials(out) -> int:
    """Delete the temp files image_io.write_file_atomic makes for `out` (`.NAME.*.part` next to it),
    as left by a killed process; returns how many. Other files are never touched."""
    out = Path(out)
    if not out.parent.is_dir():
        return 0
    found = list(out.parent.glob(f".{glob.escape(out.name)}.*.part"))
    for p in found:
        p.unlink(missing_ok=True)
    return len(found)


def max_pixels(options) -> int | None:
    """The decoding budget from --max-megapixels when the options have it (None = image_io's default)."""
    mp = getattr(options, "max_megapixels", None)
    return None if mp is None else int(mp * 1e6)


def read_job(job: Job, options):
    """-> (LoadedImage, image for the pipeline (LoadedImage.pipeline_tensor: uint8 [1,C,H,W] for 8-bit
    files, else float [1,3,H,W] 0..1), mask [1,1,H,W] 0..1 with 1 = hole), CPU tensors.

    The mask is the job's mask file, or the image's own transparency (image_io.read_hole, as the
    inpaint command reads it)."""
    loaded = image_io.read_image(job.image, max_pixels=max_pixels(options))
    hole = image_io.read_hole(loaded, job.mask, float(options.threshold), max_pixels(options))
    return loaded, loaded.pipeline_tensor(), hole.tensor()


def copy_unchanged(job: Job, loaded, options) -> None:
    """A file without a hole: its bytes when the result keeps its extension, else its pixels re-encoded
    losslessly in the result's format (--as-png)."""
    if Path(job.out).suffix.lower() == Path(job.image).suffix.lower():
        with open(job.image, "rb") as src:
            image_io.write_file_atomic(job.out, lambda fh: shutil.copyfileobj(src, fh))
        return
    plan = image_io.plan_output(job.out, inputs=(job.image, job.mask),
                                jpeg_quality=getattr(options, "jpeg_quality", None))
    image_io.save_image(plan, loaded.image_tensor(), like=loaded)


class FileWorker:
    """Loads the content network and texture backbone once (on `device`), then `process(job)` per file.

    options: the parsed inpaint options (argparse.Namespace, picklable, so Ray actors get a copy);
    make_settings(options, device) -> keyword arguments of `pipeline.inpaint` with the models
    loaded (nps_core.cli.inpaint_settings). device: None = options.device.
    """

    def __init__(self, options, make_settings, device=None):
        self.options = options
        self.settings = make_settings(options, device)
        self.threshold = float(options.threshold)

    def process(self, job: Job, callback=None) -> FileResult:
        """Inpaint one file and write its result atomically; never raises for a bad file.

        Returns a FileResult: done, copied (no hole: written unchanged) or failed (with the error).
        callback(ProgressEvent) sees the file's levels. KeyboardInterrupt propagates and leaves no
        file behind (image_io's writes are temp file + rename).
        """
        from ..pipeline import inpaint

        started, cpu_started = time.perf_counter(), time.process_time()
        result = FileResult(rel=job.rel, image=job.image, out=job.out, status="failed", mask=job.mask)
        try:
            if job.problem:
                raise NPSFileError(job.problem)
            loaded, image, mask = read_job(job, self.options)
            mask = prepare_mask(mask, loaded.size_hw, 1, self.threshold)  # binary, the image's size
            hole = mask[0, 0] > 0.5
            if not bool(hole.any()):
                copy_unchanged(job, loaded, self.options)
                result.status = "copied"
            else:
                plan = image_io.plan_output(job.out, inputs=(job.image, job.mask),
                                            jpeg_quality=getattr(self.options, "jpeg_quality", None))
                content = None
                if job.content:
                    content = image_io.read_image(job.content, max_pixels=max_pixels(self.options),
                                                  what="--content-image").image_tensor()
                image_io.check_output(plan, loaded, hole.numpy())  # a format that cannot hold it: before compute
                filled = inpaint(image, mask, callback=callback, content=content, **self.settings)
                save_result(plan, filled.image, loaded, hole.numpy())
                result.status = "done"
        except Exception as exc:  # noqa: BLE001 - a bad file is reported and the run goes on
            result.error = error_text(exc)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        result.seconds = time.perf_counter() - started
        result.cpu_seconds = time.process_time() - cpu_started
        return result


def save_result(plan, image: torch.Tensor, loaded, hole) -> None:
    """The inpainted [1,3,H,W] (uint8, or float 0..1) written like its input (image_io.save_image, atomic)."""
    image_io.save_image(plan, image, like=loaded, hole=hole)
