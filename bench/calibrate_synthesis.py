"""Sweep of the synthesis settings (nps_core.synthesis) on the content network's held-out photos only.

The three held-out photos are lxqt-themes' Butterfly-Kenneth-Wimer.jpg, flowers.png and fog.jpg
(weights/MODEL_CARD.md; `apt-get install lxqt-themes`, or the corpus's val/ folder via --data); they
are neither training nor evaluation data. Each photo gives 5 cases at 512 px: square crops at 1/4,
1/2 and 3/4 along the long side with a `centre`, `rect` or `strokes` mask (bench/eval_set.py
families). Every method gets the image with its hole overwritten by seeded noise. Prints, per
setting and mask family, mean hole L1 %, PSNR dB and sharpness ratio.

    python bench/calibrate_synthesis.py                       # the sweep in bench/QUALITY.md
    python bench/calibrate_synthesis.py --settings '{"mine": {"iterations": 50, "synthesis": {"bonus": 0.1}}}'
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_set import hide_hole, make_mask, noise_seed  # noqa: E402
from metrics import all_metrics  # noqa: E402

HELD_OUT = ("/usr/share/lxqt/wallpapers/Butterfly-Kenneth-Wimer.jpg", "/usr/share/lxqt/wallpapers/flowers.png",
            "/usr/share/lxqt/wallpapers/fog.jpg")
CROPS = ((0.5, "centre"), (0.25, "rect"), (0.75, "strokes"), (0.5, "rect"), (0.25, "strokes"))
PLAIN = dict(steps=0, first_steps=0, pixel_steps=0, match_border=False)  # SynthesisSettings.plain()
SETTINGS = {
    "content only": dict(iterations=0, alpha=0.0, synthesis=PLAIN),
    "content only, levels meet the border": dict(iterations=0, alpha=0.0, synthesis=dict(PLAIN, match_border=True)),
    "plain (paper), 50 it": dict(iterations=50, synthesis=PLAIN),
    "plain, levels meet the border": dict(iterations=50, synthesis=dict(PLAIN, match_border=True)),
    "default": dict(iterations=50),
    "default, no query noise": dict(iterations=50, synthesis=dict(query_noise=0.0)),
    "default, cell votes on thin holes too": dict(iterations=50, synthesis=dict(thin_depth=0)),
    "default, no cell votes at pixel levels": dict(iterations=50, synthesis=dict(neural_vote=False)),
    "default, synthesis only (0 it)": dict(iterations=0),
    "default, pixel vote sharpness 1": dict(iterations=50, synthesis=dict(pixel_sharpness=1.0)),
    "default, pixel vote sharpness 8": dict(iterations=50, synthesis=dict(pixel_sharpness=8.0)),
}


def load_cases(paths, size=512):
    """[(key, family, truth [S,S,3], mask [S,S] bool, given [S,S,3] with the hole noise-filled)]."""
    from PIL import Image

    cases = []
    for i, path in enumerate(paths):
        im = Image.open(path).convert("RGB")
        w, h = im.size
        s = min(w, h)
        for j, (frac, family) in enumerate(CROPS):
            x0 = int((w - s) * frac) if w > h else 0
            y0 = int((h - s) * frac) if h > w else 0
            truth = np.asarray(im.crop((x0, y0, x0 + s, y0 + s)).resize((size, size), Image.LANCZOS),
                               dtype=np.float32) / 255
            mask = make_mask(family, size, 1000 + j + 10 * i)
            key = f"{Path(path).stem}/{family}{j}"
            cases.append((key, family, truth, mask, hide_hole(truth, mask, noise_seed("calib-synthesis", key))))
    return cases


def fill(given, mask, model, texture, spec):
    from nps_core.pipeline import inpaint
    from nps_core.synthesis import SynthesisSettings

    x = torch.from_numpy(np.ascontiguousarray(given)).permute(2, 0, 1)[None]
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    spec = dict(spec)
    synthesis = SynthesisSettings(**spec.pop("synthesis", {}))
    out = inpaint(x, m, content_net=model, texture=texture, synthesis=synthesis, **spec).image
    return out[0].permute(1, 2, 0).numpy()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="glob of held-out photos (default: the three lxqt-themes files)")
    ap.add_argument("--settings", default=None,
                    help="JSON {name: inpaint kwargs, 'synthesis': SynthesisSettings kwargs}")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    paths = sorted(glob.glob(args.data)) if args.data else [p for p in HELD_OUT if Path(p).exists()]
    if not paths:
        raise SystemExit("no held-out photos: apt-get install lxqt-themes, or pass --data 'VAL_DIR/*'")
    from nps_core.content import load_content_net
    from nps_core.texture import make_texture_settings

    model, texture = load_content_net(None), make_texture_settings("efficientnet_lite0")
    settings = json.loads(args.settings) if args.settings else SETTINGS
    cases = load_cases(paths)
    families = sorted({c[1] for c in cases})
    print("| setting | " + " | ".join(f"{f} L1 / PSNR / sharp" for f in families) + " | s/case |")
    print("|---|" + "---|" * (len(families) + 1))
    for name, spec in settings.items():
        rows = []
        for _key, family, truth, mask, given in cases:
            t = time.perf_counter()
            out = fill(given, mask, model, texture, spec)
            rows.append(dict(all_metrics(out, truth, mask), family=family, seconds=time.perf_counter() - t))
        cells = []
        for f in families:
            sel = [r for r in rows if r["family"] == f]
            cells.append(" / ".join(f"{np.mean([r[k] for r in sel]):.2f}" for k in ("l1", "psnr", "sharp")))
        print(f"| {name} | " + " | ".join(cells) + f" | {np.mean([r['seconds'] for r in rows]):.1f} |", flush=True)


if __name__ == "__main__":
    main()
