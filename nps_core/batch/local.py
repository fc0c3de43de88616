"""The local engine: one FileWorker in this process, the files one after another."""

from __future__ import annotations

from .report import FileResult


def interrupted_result(job) -> FileResult:
    return FileResult(rel=job.rel, image=job.image, out=job.out, status="interrupted", mask=job.mask)


def run_local(plan, worker, report, progress) -> bool:
    """Process plan.todo with `worker` (a FileWorker, models already loaded), adding each FileResult
    to `report` and drawing `progress`. Returns True when Ctrl-C stopped it: the file in progress
    leaves nothing behind, it and the files after it are reported as interrupted."""
    for i, job in enumerate(plan.todo):
        progress.start_file(job.rel)
        try:
            result = worker.process(job, callback=progress.level)
        except KeyboardInterrupt:
            for rest in plan.todo[i:]:
                report.add(interrupted_result(rest))
            return True
        report.add(result)
        progress.finish_file(result)
    return False
