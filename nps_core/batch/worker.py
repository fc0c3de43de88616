"""The per-file worker: models loaded once, then one image at a time, results written atomically.

Both engines use it: the local engine keeps one FileWorker for the run, each Ray actor keeps its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

from .plan import Job
from .report import FileResult


def error_text(exc: BaseException) -> str:
    """One line for the report: the pack's own errors by message, anything else with its type."""
    from ..errors import NPSInputError, NPSWeightsError

    if isinstance(exc, (NPSInputError, NPSWeightsError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def partial_path(out: Path) -> Path:
    """A hidden temp name next to out (same extension, so the writer picks the same format)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".partial{out.suffix}", dir=out.parent)
    os.close(fd)
    return Path(tmp)


def remove_partials(out) -> int:
    """Delete temp files partial_path(out) made (left by a killed process); returns how many."""
    out = Path(out)
    if not out.parent.is_dir():
        return 0
    found = list(out.parent.glob(f".{glob.escape(out.stem)}.*.partial{glob.escape(out.suffix)}"))
    for p in found:
        p.unlink(missing_ok=True)
    return len(found)


def write_atomic(out: Path, write) -> None:
    """write(temp_path) then rename onto out: out is complete or absent, also on Ctrl-C or a crash
    of the writer (the temp file is removed on any exception)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(out)
    try:
        write(tmp)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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

        Returns a FileResult: done, copied (no hole: the file is copied unchanged) or failed (the
        error). callback(ProgressEvent) sees the file's levels. KeyboardInterrupt propagates (no file
        is left behind).
        """
        from ..pipeline import inpaint

        started = time.perf_counter()
        result = FileResult(rel=job.rel, image=job.image, out=job.out, status="failed", mask=job.mask)
        try:
            if job.problem:
                raise_problem(job.problem)
            image, mask = read_job(job)
            out = Path(job.out)
            if not bool((mask >= self.threshold).any()):
                write_atomic(out, lambda tmp: shutil.copyfile(job.image, tmp))
                result.status = "copied"
            else:
                filled = inpaint(image, mask, callback=callback, **self.settings)
                write_atomic(out, lambda tmp: save_result(filled.image, tmp))
                result.status = "done"
        except Exception as exc:  # a bad file is reported and the run goes on
            result.error = error_text(exc)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        result.seconds = time.perf_counter() - started
        return result


def raise_problem(problem: str):
    from ..errors import NPSInputError

    raise NPSInputError(problem)


def read_job(job: Job):
    """(image [1,3,H,W] 0..1, mask [1,1,H,W] 0..1, 1 = hole) of a job, as the inpaint command reads them."""
    from ..cli import load_image_and_mask

    return load_image_and_mask(job.image, job.mask)


def save_result(image: torch.Tensor, path: Path) -> None:
    """[1,3,H,W] 0..1 -> an 8-bit file at path in the format its extension names."""
    from ..cli import save_image

    save_image(image, path)
