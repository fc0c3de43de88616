"""The Ray engine: the plan's jobs as a Ray Data dataset, inpainted by stateful actors.

Each actor (`RayInpainter`) builds one FileWorker, so the content network and the texture backbone
load once per actor; actors hold a GPU each (or `gpus_per_worker`) where the cluster has GPUs, CPUs
otherwise. Results are written by the actors with the same atomic writes as the local engine, so a
rerun (with either engine) skips what is finished. Inputs and OUT must be at the same paths on every
node (a shared filesystem) when the cluster has several machines. Ray is imported only here.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ..errors import NPSInputError
from ..paths import PACK_ROOT
from .local import interrupted_result
from .plan import Job
from .report import FileResult
from .worker import FileWorker, remove_partials


def import_ray():
    """The `ray` module with Ray Data, or an NPSInputError saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise NPSInputError(
            "--engine ray needs Ray Data, which is not installed: pip install -e \".[ray]\" in the "
            "pack's folder (or pip install \"ray[data]\"); or use --engine local."
        ) from None
    return ray


class RayInpainter:
    """Ray Data callable class: one FileWorker per actor; a batch of job rows -> result rows.

    device: "cuda" for GPU actors (Ray sets which GPU each actor sees), else "cpu"; threads: torch
    CPU threads per actor (its CPU share), None = torch's default.
    """

    def __init__(self, options, make_settings, device: str, threads: int | None = None):
        import argparse

        import torch

        if threads:
            torch.set_num_threads(int(threads))
        # the actor's own device replaces the driver's --device (validated where it runs)
        options = argparse.Namespace(**{**vars(options), "device": device})
        self.worker = FileWorker(options, make_settings)

    def __call__(self, batch: dict) -> dict:
        n = len(batch["rel"])
        rows = [self.worker.process(Job.from_row({k: batch[k][i] for k in batch})).to_row() for i in range(n)]
        return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def last_line(exc: BaseException) -> str:
    """The last non-empty line of an error (Ray wraps a worker's exception in its traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def plan_workers(resources: dict, workers, gpus_per_worker, cpus_per_worker: float, jobs: int):
    """Cluster resources -> (workers, gpus per worker): GPU actors where the cluster has GPUs (one
    each unless told), CPU actors otherwise; as many as the resources hold unless `workers` is given,
    never more than the jobs."""
    gpus = float(resources.get("GPU", 0))
    cpus = float(resources.get("CPU", 1))
    gpw = (1.0 if gpus >= 1 else 0.0) if gpus_per_worker is None else float(gpus_per_worker)
    if gpw > 0 and gpus <= 0:
        raise NPSInputError(f"--ray-gpus-per-worker {gpw:g}: the Ray cluster has no GPUs; give 0 for CPU workers.")
    if workers is None:
        workers = int(gpus // gpw) if gpw > 0 else int(cpus // cpus_per_worker)
    return max(1, min(int(workers), jobs)), gpw


def run_ray(plan, options, make_settings, report, progress, address=None, workers=None,
            gpus_per_worker=None, cpus_per_worker: float = 1.0) -> bool:
    """Run plan.todo on Ray: join the cluster at `address` (None = start a local one for this run).

    Adds one FileResult per job to `report`; returns True when Ctrl-C stopped the run (files not
    reported are marked interrupted and any partial file they left is removed).
    """
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        path = os.pathsep.join(p for p in (str(PACK_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        init = dict(address=address, include_dashboard=False, logging_level=logging.WARNING,
                    log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
        if address is None and workers is not None:
            # a local cluster gets as many CPU slots as the workers asked for, even past the cores
            init["num_cpus"] = max(os.cpu_count() or 1, int(workers * cpus_per_worker + 0.999))
        try:
            ray.init(**init)
        except ConnectionError as exc:
            raise NPSInputError(f"--ray-address {address!r}: cannot join the Ray cluster ({exc}); start one "
                                f"with `ray start --head` or leave --ray-address out for a local one.") from None
    todo = {job.rel: job for job in plan.todo}
    try:
        n, gpw = plan_workers(ray.cluster_resources(), workers, gpus_per_worker, cpus_per_worker, len(todo))
        report.engine_info = {"ray_version": ray.__version__, "workers": n, "gpus_per_worker": gpw,
                              "cpus_per_worker": cpus_per_worker, "address": address or "local",
                              "cluster_resources": {k: v for k, v in ray.cluster_resources().items()
                                                    if k in ("CPU", "GPU", "memory")}}
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the batch's own bar counts the files
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"
        ds = ray.data.from_items([job.to_row() for job in todo.values()], override_num_blocks=len(todo))
        ds = ds.map_batches(
            RayInpainter, batch_size=1, compute=ray.data.ActorPoolStrategy(size=n),
            num_gpus=gpw, num_cpus=cpus_per_worker,
            fn_constructor_kwargs=dict(options=options, make_settings=make_settings,
                                       device="cuda" if gpw > 0 else "cpu",
                                       threads=None if gpw > 0 else max(1, int(cpus_per_worker))),
        )
        progress.current = f"{n} Ray worker(s)" + (f", {gpw:g} GPU each" if gpw else "")
        progress.draw(force=True)
        try:
            for row in ds.iter_rows():
                result = FileResult.from_row(row)
                todo.pop(result.rel, None)
                report.add(result)
                progress.finish_file(result)
                progress.current = f"{n} Ray worker(s)"
        except KeyboardInterrupt:
            for job in todo.values():
                report.add(interrupted_result(job))
            return True
        except Exception as exc:  # noqa: BLE001 - e.g. an actor could not load the models on its node
            reason = f"the Ray run stopped: {last_line(exc)}"
            for job in todo.values():
                report.add(FileResult(rel=job.rel, image=job.image, out=job.out, status="failed",
                                      error=reason, mask=job.mask))
            progress.stream.write(f"\n{reason}\n")
    finally:
        if started_here:
            ray.shutdown()
        for job in todo.values():  # killed actors may leave their temp files; finished files are kept
            remove_partials(job.out)
    return False
