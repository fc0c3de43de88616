"""Make docs/demo_before_after.jpg from the bundled example and the ./run_demo.sh result.

    ./run_demo.sh && .venv/bin/python scripts/make_demo_figure.py [--result out/demo.png] \
        [--out docs/demo_before_after.jpg]

Panels (each --panel px): the example with its hole (transparent pixels) in magenta, the result,
and the original (the example's RGB under the transparent pixels, which the PNG keeps).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--example", default=str(ROOT / "example_workflows" / "nps_example.png"))
    ap.add_argument("--result", default=str(ROOT / "out" / "demo.png"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "demo_before_after.jpg"))
    ap.add_argument("--panel", type=int, default=384)
    args = ap.parse_args(argv)

    rgba = np.asarray(Image.open(args.example).convert("RGBA"))
    original = rgba[..., :3]
    hole = rgba[..., 3] < 128
    shown = original.copy()
    shown[hole] = (255, 0, 255)
    result = np.asarray(Image.open(args.result).convert("RGB"))
    if result.shape != original.shape:
        raise SystemExit(f"{args.result} is {result.shape[1]}x{result.shape[0]}, the example is "
                         f"{original.shape[1]}x{original.shape[0]}; run ./run_demo.sh first")
    size = (args.panel, args.panel)
    panels = [Image.fromarray(a).resize(size, Image.LANCZOS) for a in (shown, result, original)]
    figure = Image.new("RGB", (3 * args.panel, args.panel))
    for i, panel in enumerate(panels):
        figure.paste(panel, (i * args.panel, 0))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.save(args.out, quality=90)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
