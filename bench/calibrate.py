"""ALPHA/BETA sweep for nps_core/defaults.py on images that are NOT in the evaluation set.

Images: the content network's held-out split /root/nps-data/photos/val (never trained on, never
evaluated on). Each photo gives three cases of --size px (256 for the sweep, 512 to confirm): the whole
(square-cropped) photo with a centred hole of half the side, and a 2x zoomed crop of its centre with
a `rect` and a `strokes` mask (eval_set families at 256 px). Backbone efficientnet_lite0, short runs
(--iterations, default 50 per level).
Prints per setting the mean hole PSNR, its difference to the content-only fill, the sharpness ratio,
L1 and time; writes every row to --out (JSON lines, default in the bench cache, outside git).
The pipeline is given each case with its hole pixels overwritten by seeded uniform noise
(eval_set.hide_hole); the metrics compare with the untouched photo.

    python bench/calibrate.py [--alphas 0,0.01,...] [--betas 0.02] [--iterations 50]
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

from eval_set import hide_hole, make_mask, mask_seed, noise_seed  # noqa: E402
from metrics import all_metrics  # noqa: E402


def load_cases(pattern, limit, size=256):
    from PIL import Image

    cases = []
    for path in sorted(glob.glob(pattern))[:limit]:
        im = Image.open(path).convert("RGB")
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        q = size // 4
        whole = np.asarray(im.resize((size, size), Image.LANCZOS), dtype=np.float32) / 255
        zoom = np.asarray(im.resize((2 * size, 2 * size), Image.LANCZOS), dtype=np.float32)
        zoom = zoom[2 * q:6 * q, 2 * q:6 * q] / 255
        name = Path(path).stem.split("__")[-1]
        c = np.zeros((size, size), bool)
        c[q:3 * q, q:3 * q] = True
        cases.append((name + "/centre", whole, c))
        for fam in ("rect", "strokes"):
            cases.append((f"{name}/{fam}", zoom, make_mask(fam, size, mask_seed(fam, "calib/" + name))))
    return cases


def run(case, tex, alpha, beta, iterations, content_net=None):
    from nps_core.pipeline import inpaint

    name, img, mask = case
    given = hide_hole(img, mask, noise_seed("calib", name, img.shape[0]))   # never the truth's hole pixels
    x = torch.from_numpy(given).permute(2, 0, 1)[None].contiguous()
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    t = time.perf_counter()
    r = inpaint(x, m, content_net=content_net, texture=tex, alpha=alpha, beta=beta, iterations=iterations)
    sec = time.perf_counter() - t
    out = r.image[0].permute(1, 2, 0).numpy()
    return dict(all_metrics(out, img, mask), seconds=sec), out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/root/nps-data/photos/val/*")
    ap.add_argument("--limit", type=int, default=3)
    ap.add_argument("--alphas", default="0,0.003,0.01,0.03,0.1,0.3,1")
    ap.add_argument("--betas", default="0.02")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--size", type=int, default=256, help="case side in pixels (512 to confirm at full size)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON-lines log (default: <bench cache>/calibration.jsonl)")
    ap.add_argument("--content-net", default=None,
                    help="content-network file (default: shipped weights; pass a copy while training replaces them)")
    ap.add_argument("--save", default="", help="folder for result PNGs (optional)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from nps_core.texture import make_texture_settings

    tex = make_texture_settings("efficientnet_lite0")
    cases = load_cases(args.data, args.limit, args.size)
    from nps_core.content import load_content_net

    model = load_content_net(args.content_net)   # loaded once: the file may be replaced meanwhile
    if args.out is None:
        from eval_set import cache_dir

        args.out = str(cache_dir() / "calibration.jsonl")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    settings = [("content-only", 0.0, 0.0, 0)]
    for b in [float(v) for v in args.betas.split(",")]:
        settings += [(f"a={a:g} b={b:g}", float(a), b, args.iterations) for a in map(float, args.alphas.split(","))]
    base = {}
    summary = []
    with open(args.out, "a") as log:
        for label, a, b, it in settings:
            rows = []
            for case in cases:
                res, out = run(case, tex, a, b, it, model)
                if label == "content-only":
                    base[case[0]] = res
                res.update(case=case[0], alpha=a, beta=b, iterations=it, dpsnr=res["psnr"] - base[case[0]]["psnr"])
                rows.append(res)
                log.write(json.dumps(res) + "\n")
                log.flush()
                if args.save:
                    from PIL import Image

                    Path(args.save).mkdir(parents=True, exist_ok=True)
                    Image.fromarray((out * 255).round().astype(np.uint8)).save(
                        Path(args.save) / f"{case[0].replace('/', '_')}_{label.replace(' ', '_')}.png")
            keys = ("psnr", "dpsnr", "sharp", "l1", "ssim", "seconds")
            mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
            worst = float(np.min([r["dpsnr"] for r in rows]))
            line = (f"| {label} | {mean['psnr']:.2f} | {mean['dpsnr']:+.2f} (worst {worst:+.2f}) | "
                    f"{mean['sharp']:.3f} | {mean['l1']:.2f} | {mean['ssim']:.3f} | {mean['seconds']:.1f} |")
            summary.append(line)
            print(line, flush=True)
    print("\n| setting | PSNR dB | dPSNR vs content-only | sharpness | L1 % | SSIM | s/case |\n"
          "|---|---|---|---|---|---|---|")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
