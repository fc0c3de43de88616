"""Where one `inpaint()` run spends its time: wall / CPU seconds, peak RSS, per-level report, cProfile top.

    .venv/bin/python bench/profile_pipeline.py --size 2048 --threads 1     # 2048 px, 1024 px centre hole
    .venv/bin/python bench/profile_pipeline.py --size 512 --top 40

Inputs are bench/speed.py's seeded test image with a centre hole of half the side, the shipped
content network and the default backbone (defaults everywhere: synthesis on, ITERATIONS per level).
One untimed 256 px warm-up run first; then the timed run under cProfile (its overhead is small
here: the time is in a few thousand large tensor operations). Prints, sorted by own time, the
functions that dominate.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "bench")):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=2048, help="image side (px)")
    p.add_argument("--hole", type=int, default=None, help="centre hole side (default: size / 2)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--top", type=int, default=30, help="profile lines to print")
    a = p.parse_args(argv)
    import torch
    from speed import centre_mask, test_image

    from nps_core import defaults, inpaint
    from nps_core.texture import make_texture_settings

    torch.set_num_threads(a.threads)
    hole = a.hole or a.size // 2
    texture = make_texture_settings(defaults.BACKBONE)
    inpaint(test_image(256), centre_mask(256, 128), texture=texture, iterations=2)  # warm-up
    image, mask = test_image(a.size), centre_mask(a.size, hole)
    started, cpu = time.perf_counter(), time.process_time()
    profile = cProfile.Profile()
    profile.enable()
    result = inpaint(image, mask, texture=texture)
    profile.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    load = os.getloadavg()
    print(f"{a.size} px, {hole} px hole, {a.threads} thread(s): wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB; load average at the end "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    print(result.describe())
    pstats.Stats(profile).sort_stats("tottime").print_stats(a.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
