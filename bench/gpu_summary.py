"""The one summary table of bench/gpu_check.sh: reads the step logs and JSON files of its output folder.

    python bench/gpu_summary.py bench/results/gpu_check-YYYYmmdd-HHMMSS
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

TARGETS = {512: 3.0, 2048: 30.0}  # s, whole pipeline on one H100-class GPU (issue 13)


def _steps(folder: Path) -> dict:
    steps = {}
    path = folder / "steps.txt"
    for line in path.read_text().splitlines() if path.exists() else []:
        name, rc, seconds = line.split()
        steps[name] = (int(rc), int(seconds))
    return steps


def _status(steps, name) -> str:
    if name not in steps:
        return "not run"
    rc, seconds = steps[name]
    if rc == 0:
        return f"ok ({seconds} s)"
    return ("TIMED OUT" if rc in (124, 137) else f"FAILED rc={rc}") + f" ({seconds} s)"


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _gib(value) -> str:
    return "-" if value is None else f"{value / 2**30:.2f} GiB"


def rows(folder: Path) -> list[tuple[str, str, str]]:
    steps = _steps(folder)
    out = []
    log = folder / "cuda_tests.log"
    last = log.read_text().strip().splitlines()[-1] if log.exists() and log.read_text().strip() else ""
    out.append(("CUDA tests (tests/test_cuda.py)", last or "-", _status(steps, "cuda_tests")))
    for name in ("speed_512", "speed_2048"):
        data = _json(folder / f"{name}.json")
        text = "-"
        if data and data.get("results"):
            result = data["results"][0]
            product = result["sides"]["product"]
            text = f"L-BFGS stage {product['total_seconds']:.1f} s, peak CUDA {_gib(product.get('peak_cuda_bytes'))}"
            if "reference" in result["sides"]:
                reference = result["sides"]["reference"]["total_seconds"]
                text += f"; reference {reference:.1f} s ({reference / product['total_seconds']:.1f}x)"
        out.append((f"bench/speed.py --config {name[6:]} (100 it/level)", text, _status(steps, name)))
    data = _json(folder / "pipeline.json")
    for row in (data or {}).get("rows", []):
        target = TARGETS.get(row["size"])
        verdict = ""
        if target is not None:
            verdict = (" - meets" if row["seconds"] < target else " - MISSES") + f" the {target:g} s target"
        out.append((f"inpaint() {row['size']} px / {row['hole']} px hole, defaults",
                    f"{row['seconds']:.2f} s{verdict}; peak CUDA {_gib(row.get('peak_cuda_bytes'))} "
                    f"(node's estimate {_gib(row['estimate_bytes'])})", "ok"))
    if not data:
        out.append(("inpaint() 512 and 2048, defaults", "-", _status(steps, "pipeline")))
    log = folder / "train_throughput.log"
    match = re.search(r"([\d.]+) samples/s \(([\d.]+) s/step\)", log.read_text()) if log.exists() else None
    out.append(("content-net training throughput (20 steps)",
                f"{match.group(1)} samples/s ({match.group(2)} s/step)" if match else "-",
                _status(steps, "train_throughput")))
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0])
    gpu = (folder / "gpu.txt").read_text().strip() if (folder / "gpu.txt").exists() else "unknown GPU"
    print(f"GPU: {gpu}\n")
    print("| check | result | status |\n|---|---|---|")
    for check, result, status in rows(folder):
        print(f"| {check} | {result} | {status} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
