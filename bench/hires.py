"""High-resolution cases of issue 12: time and peak memory follow the holes, not the photo.

    .venv/bin/python bench/hires.py                      # all cases below, each in a fresh process
    .venv/bin/python bench/hires.py --case 4k-spots      # one case
    .venv/bin/python bench/hires.py --iterations 10      # a quicker, rougher run

Cases (synthetic photo-like uint8 images, built by tiling bench/speed.py's test image with mirror
flips; holes hidden by seeded noise (eval_set.hide_hole) before the pipeline sees the image):

- 4k-spots:  3840x2160, 16 scattered 40 px round holes (spot and dust removal); issue: well under a
             minute, < 4 GiB.
- 4k-large:  3840x2160, one 768 px square hole plus 3 small (40 px) holes in the corners; < 8 GiB,
             time dominated by the large hole.
- 12k-small: 12000x12000, one 64 px square hole; must not need 10 GiB.

Each case runs `nps_core.inpaint` on a uint8 [1,3,H,W] tensor with a bool mask (what a caller that
reads a file once and keeps it 8-bit passes) in a child process; the child reports wall time, CPU
time and its peak RSS (ru_maxrss: the whole process, including the image, torch and the models).
Prints a markdown table; --json PATH also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CASES = {
    "4k-spots": {"height": 2160, "width": 3840, "holes": "spots"},
    "4k-large": {"height": 2160, "width": 3840, "holes": "large"},
    "12k-small": {"height": 12000, "width": 12000, "holes": "one64"},
}
LIMITS_GIB = {"4k-spots": 4.0, "4k-large": 8.0, "12k-small": 10.0}


def photo(height: int, width: int, tile: int = 1024) -> np.ndarray:
    """uint8 [H,W,3]: bench/speed.py's test image tiled with mirror flips (no seams)."""
    from speed import test_image

    base = (test_image(tile, seed=0)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    quad = np.concatenate([np.concatenate([base, base[:, ::-1]], 1),
                           np.concatenate([base[::-1], base[::-1, ::-1]], 1)], 0)
    reps = (-(-height // quad.shape[0]), -(-width // quad.shape[1]), 1)
    return np.ascontiguousarray(np.tile(quad, reps)[:height, :width])


def masks(kind: str, height: int, width: int) -> np.ndarray:
    """bool [H,W] hole mask of the case (seeded, the same on every run)."""
    m = np.zeros((height, width), bool)
    rng = np.random.Generator(np.random.PCG64(12))
    yy, xx = np.mgrid[-20:20, -20:20]
    disc = yy * yy + xx * xx < 20 * 20

    def spot(cy, cx):
        m[cy - 20 : cy + 20, cx - 20 : cx + 20] |= disc

    if kind == "spots":
        for i in range(4):
            for j in range(4):
                cy = int((i + 0.5) * height / 4 + rng.integers(-height // 12, height // 12))
                cx = int((j + 0.5) * width / 4 + rng.integers(-width // 12, width // 12))
                spot(cy, cx)
    elif kind == "large":
        top, left = (height - 768) // 2, (width - 768) // 2
        m[top : top + 768, left : left + 768] = True
        for cy, cx in ((100, 100), (100, width - 100), (height - 100, 100)):
            spot(cy, cx)
    elif kind == "one64":
        m[height // 2 : height // 2 + 64, width // 3 : width // 3 + 64] = True
    else:
        raise ValueError(kind)
    return m


def run_child(name: str, iterations: int | None, threads: int) -> dict:
    import torch
    from eval_set import hide_hole

    from nps_core import defaults
    from nps_core.pipeline import inpaint
    from nps_core.texture import make_texture_settings

    torch.set_num_threads(threads)
    spec = CASES[name]
    img = photo(spec["height"], spec["width"])
    hole = masks(spec["holes"], spec["height"], spec["width"])
    img = hide_hole(img, hole, seed=7)            # in place of the truth: noise under the holes
    image = torch.from_numpy(img).permute(2, 0, 1)[None]   # uint8 view, no copy
    mask = torch.from_numpy(hole)[None, None]
    texture = make_texture_settings(defaults.BACKBONE, device="cpu")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started, cpu = time.perf_counter(), time.process_time()
    result = inpaint(image, mask, texture=texture,
                     iterations=defaults.ITERATIONS if iterations is None else iterations)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # before the check below
    exact = all(  # known pixels bit-exact, checked in bands of rows (no full-size index arrays)
        bool(torch.equal(torch.where(mask[0, 0, y:y + 512], image[0, :, y:y + 512], result.image[0, :, y:y + 512]),
                         image[0, :, y:y + 512]))
        for y in range(0, spec["height"], 512))
    return {
        "case": name, "image": f"{spec['width']}x{spec['height']}", "holes": len(result.windows),
        "windows": [f"{r.window.size}" for r in result.windows], "wall_s": wall, "cpu_s": cpu,
        "peak_rss_gib": peak / 2**30,
        "rss_before_run_gib": rss_before / 2**30, "in_windows_s": sum(r.seconds for r in result.windows),
        "largest_window_s": max(r.seconds for r in result.windows), "known_pixels_exact": exact,
        "dtype": str(result.image.dtype), "iterations": defaults.ITERATIONS if iterations is None else iterations,
        "threads": threads,
    }


def markdown(rows) -> str:
    lines = ["| case | image | windows (sides, px) | wall s | CPU s | peak RSS GiB (limit) "
             "| known pixels exact |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        sides = ", ".join(sorted(set(r["windows"]), key=int))
        lines.append(f"| {r['case']} | {r['image']} | {len(r['windows'])} ({sides}) | {r['wall_s']:.1f} | "
                     f"{r['cpu_s']:.1f} | {r['peak_rss_gib']:.2f} (< {LIMITS_GIB[r['case']]:g}) | "
                     f"{r['known_pixels_exact']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append", help="default: all")
    parser.add_argument("--iterations", type=int, default=None,
                        help="L-BFGS iterations per level (default: the product's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.iterations, args.threads)))
        return 0
    rows = []
    for name in args.case or list(CASES):
        cmd = [sys.executable, __file__, "--child", name, "--threads", str(args.threads)]
        if args.iterations is not None:
            cmd += ["--iterations", str(args.iterations)]
        env = dict(os.environ)
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the command line (nps_core.__main__): no spinning
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return out.returncode
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), file=sys.stderr)
    load = os.getloadavg()
    print(markdown(rows))
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
