"""Throughput of the folder job (`python -m nps_core batch`) per engine: files per hour on this machine.

    .venv/bin/python bench/batch_throughput.py --copies 4                       # local engine only
    .venv/bin/python bench/batch_throughput.py --copies 4 --engines local,ray --ray-workers 2
    .venv/bin/python bench/batch_throughput.py --copies 8 --engines ray --ray-address auto --ray-gpus-per-worker 1

The job is `--copies` copies of the bundled example (512x512, a 256x256 transparent hole: 3 pyramid
levels) in a temporary folder, run with the product defaults (shipped content network,
efficientnet_lite0, synthesis, 50 iterations) unless inpaint options follow `--`. Per engine it prints
the wall time of the whole command (planning, model loading, Ray start-up included), wall seconds
per file, the median of the workers' own wall and CPU seconds per file (the steady-state cost of one
file, model loading excluded; CPU seconds count all of a worker's threads and move less with the
machine's load) and files per hour, with the machine's load average before and after (the numbers
are only comparable at the same load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nps_core.cli import DEMO_IMAGE  # noqa: E402
from nps_core.cli import main as cli_main  # noqa: E402


def run_engine(engine: str, src: Path, out: Path, args, extra: list) -> dict:
    command = ["batch", str(src), str(out), "--quiet", "--engine", engine, *extra]
    if engine == "ray":
        for flag, value in (("--ray-workers", args.ray_workers), ("--ray-gpus-per-worker", args.ray_gpus_per_worker),
                            ("--ray-address", args.ray_address)):
            if value is not None:
                command += [flag, str(value)]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    code = cli_main(command)
    wall = time.perf_counter() - started
    report = json.loads((out / "nps_batch_report.json").read_text())
    per_file = [f["seconds"] for f in report["files"] if f["status"] == "done"]
    cpu_per_file = [f["cpu_seconds"] for f in report["files"] if f["status"] == "done"]
    files = len(per_file)
    return {
        "engine": engine, "exit": code, "files": files, "wall_s": wall,
        "wall_s_per_file": wall / max(1, files),
        "median_worker_s_per_file": statistics.median(per_file) if per_file else None,
        "median_cpu_s_per_file": statistics.median(cpu_per_file) if cpu_per_file else None,
        "files_per_hour": 3600.0 * files / wall if wall > 0 else None,
        "load_before": load_before, "load_after": os.getloadavg()[0], "engine_info": report["engine_info"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="files in the job (copies of the bundled example)")
    parser.add_argument("--engines", default="local", help="comma-separated: local, ray")
    parser.add_argument("--ray-workers", type=int, default=None)
    parser.add_argument("--ray-gpus-per-worker", type=float, default=None)
    parser.add_argument("--ray-address", default=None)
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    args, extra = parser.parse_known_args(argv)
    extra = [x for x in extra if x != "--"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="nps-batch-bench-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(args.copies):
            shutil.copyfile(DEMO_IMAGE, src / f"{i:04d}.png")
        for engine in args.engines.split(","):
            rows.append(run_engine(engine.strip(), src, Path(tmp) / f"out-{engine.strip()}", args, extra))
    print("| engine | files | wall s | wall s/file | median worker s/file | median CPU s/file | files/hour | "
          "load before/after |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        info = r["engine_info"]
        name = r["engine"] + (f" ({info.get('workers')} workers, {info.get('gpus_per_worker', 0):g} GPU each)"
                              if r["engine"] == "ray" else "")
        median = f"{r['median_worker_s_per_file']:.1f}" if r["median_worker_s_per_file"] is not None else "-"
        cpu = f"{r['median_cpu_s_per_file']:.1f}" if r["median_cpu_s_per_file"] is not None else "-"
        print(f"| {name} | {r['files']} | {r['wall_s']:.1f} | {r['wall_s_per_file']:.1f} | {median} | {cpu} | "
              f"{r['files_per_hour']:.0f} | {r['load_before']:.1f} / {r['load_after']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
