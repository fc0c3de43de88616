"""End-to-end time of `nps_core.inpaint` (defaults: synthesis + 50 L-BFGS iterations per level) on one device.

    python bench/pipeline_time.py --device cuda --size 512 --hole 256 --size 2048 --hole 1024 --json out.json

Inputs are bench/speed.py's seeded test image with a centre hole; the shipped content network and the
default backbone (efficientnet_lite0; `--backbone vgg19_random` where its weights package is missing).
One untimed warm-up run at 256 px first (CUDA kernels, cuDNN autotuning). Prints, per case, wall
seconds, peak CUDA memory (torch.cuda.max_memory_allocated) and the working-memory estimate the
ComfyUI node asks ComfyUI to free (nps_core.memory.working_bytes), so the estimate can be checked.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "bench")):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def run_case(size: int, hole: int, texture, device, iterations: int) -> dict:
    import torch
    from speed import centre_mask, test_image

    from nps_core import inpaint
    from nps_core.memory import working_bytes
    from nps_core.window import plan_window

    image, mask = test_image(size).to(device), centre_mask(size, hole).to(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    result = inpaint(image, mask, texture=texture, iterations=iterations, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    side = plan_window(mask).size
    row = {"size": size, "hole": hole, "window": side, "seconds": seconds,
           "levels": [round(r.seconds, 3) for r in result.levels],
           "estimate_bytes": working_bytes(side, 1, texture.chunk_elements)}
    if device.type == "cuda":
        row["peak_cuda_bytes"] = int(torch.cuda.max_memory_allocated(device))
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--size", type=int, action="append", help="image side (repeatable, pairs with --hole)")
    p.add_argument("--hole", type=int, action="append", help="centre hole side (repeatable)")
    p.add_argument("--backbone", default=None, help="default: nps_core.defaults.BACKBONE")
    p.add_argument("--iterations", type=int, default=None, help="default: nps_core.defaults.ITERATIONS")
    p.add_argument("--json", default=None, help="write the rows here")
    a = p.parse_args(argv)
    import torch

    from nps_core import defaults
    from nps_core.texture import make_texture_settings

    sizes, holes = a.size or [512], a.hole or [256]
    if len(sizes) != len(holes):
        p.error("give one --hole per --size")
    device = torch.device(a.device)
    backbone = a.backbone or defaults.BACKBONE
    iterations = a.iterations or defaults.ITERATIONS
    texture = make_texture_settings(backbone, device=device)
    run_case(256, 128, texture, device, 2)  # warm-up, untimed
    rows = [run_case(s, h, texture, device, iterations) for s, h in zip(sizes, holes, strict=True)]
    meta = {"device": str(device), "backbone": backbone, "iterations": iterations, "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "precision": texture.compute_dtype.__repr__(), "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for row in rows:
        peak = row.get("peak_cuda_bytes")
        memory = f", peak CUDA {peak / 2**30:.2f} GiB, estimate {row['estimate_bytes'] / 2**30:.2f} GiB" if peak else ""
        print(f"{row['size']} px, {row['hole']} px hole (window {row['window']}): {row['seconds']:.2f} s{memory}")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
