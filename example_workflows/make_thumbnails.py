"""Writes each example workflow's thumbnail <name>.jpg (what ComfyUI's template browser shows).

A thumbnail is the example image with its hole in magenta next to the workflow's own result, as
ComfyUI produced it (run the API twins with ../shared/tools/comfy_run.py --out DIR first):

    python example_workflows/make_thumbnails.py DIR

DIR holds comfy_run's outputs, named <workflow>.json.<node id>.<prefix>_00001_.png; the workflow's
Save Image node's file is used. Files are written atomically (temp file + rename).
"""

from __future__ import annotations

import glob
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "nps_example.png")
SIDE = 256  # px per panel; the thumbnail is 2 panels wide
HOLE_COLOUR = (255, 0, 255)


def panel_with_hole(path: str) -> Image.Image:
    rgba = np.asarray(Image.open(path).convert("RGBA")).copy()
    hole = rgba[..., 3] < 128
    rgb = rgba[..., :3]
    rgb[hole] = HOLE_COLOUR
    return Image.fromarray(rgb).resize((SIDE, SIDE), Image.LANCZOS)


def thumbnail(result_path: str) -> Image.Image:
    canvas = Image.new("RGB", (2 * SIDE, SIDE))
    canvas.paste(panel_with_hole(EXAMPLE), (0, 0))
    canvas.paste(Image.open(result_path).convert("RGB").resize((SIDE, SIDE), Image.LANCZOS), (SIDE, 0))
    return canvas


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    workflows = sorted(f[:-5] for f in os.listdir(HERE) if f.endswith(".json"))
    missing = []
    for name in workflows:
        with open(os.path.join(HERE, "api", f"{name}.json"), encoding="utf-8") as handle:
            prompt = json.load(handle)
        save_ids = [node_id for node_id, node in prompt.items() if node["class_type"] == "SaveImage"]
        saved = sorted(path for node_id in save_ids
                       for path in glob.glob(os.path.join(argv[0], f"{name}.json.{node_id}.*.png")))
        if not saved:
            missing.append(name)
            continue
        target = os.path.join(HERE, f"{name}.jpg")
        temporary = target + ".tmp"
        thumbnail(saved[-1]).save(temporary, "JPEG", quality=88)
        os.replace(temporary, target)
        print("wrote", target, "from", os.path.basename(saved[-1]))
    if missing:
        print("no result for:", ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
