"""Any inpainter as the content (issue 12): a low-resolution fill refined by the texture levels.

    .venv/bin/python bench/refine.py                  # 3 large-set photos (1024 px, centre 512 px hole)
    .venv/bin/python bench/refine.py --images 5 --iterations 20
    .venv/bin/python bench/refine.py --held-out --synthesis '{"refine_sharpness": 4}'   # calibration

For each evaluation photo of the large set (bench/eval_set.py, 1024 px, the paper's centre hole
scaled to 512 px) two rough fills stand in for another inpainter's output:

- `truth/4`:  the photo down-scaled 4x (256 px, antialiased): an ideal but blurry fill.
- `nps-128`:  the pack's own content network at 128 px (its prediction on the whole image
              down-sampled to 128 px), i.e. the coarsest level's content as a stand-alone fill.

Each fill is scored as it is (bilinear up-scaling to 1024 px, composited into the hole) and after
`inpaint(..., content=fill)` refined it (defaults: synthesis + L-BFGS texture levels from the
level closest to the fill's resolution up to 1024 px). Metrics from bench/metrics.py inside the
hole: PSNR (dB) and sharpness ratio (1 = the truth's detail). Every method is given the image with
its hole hidden by seeded noise (eval_set.hide_hole); only the `truth/4` fill and the metrics look
at the truth. Evaluation photos are for evaluation only: settings are chosen with `--held-out`,
the three held-out lxqt-themes photos of bench/calibrate_synthesis.py (centre-cropped, Lanczos to
1024 px, the same centre hole, hidden by seeded noise), and `--synthesis` (SynthesisSettings
fields as JSON) to compare settings there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def to_tensor(a: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]


def to_array(x) -> np.ndarray:
    return x[0].permute(1, 2, 0).detach().cpu().numpy().astype(np.float64)


def held_out_cases(paths, size: int = 1024):
    """Cases (name, image, input_image, mask, size) of held-out photos for calibration, centre hole."""
    from types import SimpleNamespace

    from eval_set import centre_mask, hide_hole, noise_seed
    from PIL import Image

    cases = []
    for path in paths:
        im = Image.open(path).convert("RGB")
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((size, size),
                                                                                          Image.LANCZOS)
        truth = np.asarray(im, dtype=np.float32) / 255
        mask = centre_mask(size)
        given = hide_hole(truth, mask, noise_seed("refine-heldout", path, size))
        cases.append(SimpleNamespace(name=Path(path).stem, image=truth, input_image=given, mask=mask, size=size))
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    parser.add_argument("--held-out", action="store_true",
                        help="the held-out calibration photos instead of the evaluation set")
    parser.add_argument("--synthesis", default="{}", help="SynthesisSettings fields as JSON")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F
    from eval_set import build_cases
    from metrics import psnr, sharpness_ratio

    from nps_core import defaults
    from nps_core.content import load_content_net, predict_content
    from nps_core.pipeline import inpaint
    from nps_core.pyramid import downsample_mask, resize_image
    from nps_core.synthesis import SynthesisSettings
    from nps_core.texture import make_texture_settings

    torch.set_num_threads(args.threads)
    iterations = defaults.ITERATIONS if args.iterations is None else args.iterations
    texture = make_texture_settings(defaults.BACKBONE, device="cpu")
    net = load_content_net(None)
    synthesis = SynthesisSettings(**json.loads(args.synthesis))
    if args.held_out:
        from calibrate_synthesis import HELD_OUT

        cases = held_out_cases([p for p in HELD_OUT if Path(p).exists()][: args.images])
        if not cases:
            raise SystemExit("no held-out photos: apt-get install lxqt-themes")
    else:
        cases = build_cases(n_main=0, n_large=args.images, large_families=("centre",))
    rows = []
    for case in cases:
        given = to_tensor(case.input_image)               # hole hidden by noise
        mask = torch.from_numpy(case.mask)[None, None].float()
        size = case.size
        fills = {
            "truth/4": F.interpolate(to_tensor(case.image), size=(size // 4, size // 4), mode="bilinear",
                                     antialias=True, align_corners=False),
        }
        with torch.no_grad():
            small = resize_image(given, 128, mask=mask)
            fills["nps-128"] = predict_content(net, small, downsample_mask(mask, 128)).clamp(0, 1)
        for name, fill in fills.items():
            up = F.interpolate(fill, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
            upscaled = torch.where(mask > 0.5, up, given)
            started = time.perf_counter()
            refined = inpaint(given, mask, texture=texture, iterations=iterations, content=fill,
                              synthesis=synthesis)
            seconds = time.perf_counter() - started
            row = {"image": case.name, "fill": name, "fill_px": int(fill.shape[-1]),
                   "levels": [r.size[0] for r in refined.levels], "seconds": seconds}
            for label, out in (("upscaled", upscaled), ("refined", refined.image)):
                arr = to_array(out)
                row[f"{label}_psnr"] = psnr(arr, case.image, case.mask)
                row[f"{label}_sharp"] = sharpness_ratio(arr, case.image, case.mask)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    lines = ["| image | fill | levels run | PSNR up-scaled -> refined (dB) | sharpness up-scaled -> refined | s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['image']} | {r['fill']} ({r['fill_px']} px) | {'/'.join(map(str, r['levels']))} | "
                     f"{r['upscaled_psnr']:.2f} -> {r['refined_psnr']:.2f} | "
                     f"{r['upscaled_sharp']:.2f} -> {r['refined_sharp']:.2f} | {r['seconds']:.0f} |")
    for name in dict.fromkeys(r["fill"] for r in rows):
        sel = [r for r in rows if r["fill"] == name]
        mean = {k: float(np.mean([r[k] for r in sel])) for k in ("upscaled_psnr", "refined_psnr",
                                                                   "upscaled_sharp", "refined_sharp")}
        lines.append(f"| **mean** | {name} | | {mean['upscaled_psnr']:.2f} -> {mean['refined_psnr']:.2f} | "
                     f"{mean['upscaled_sharp']:.2f} -> {mean['refined_sharp']:.2f} | |")
    print("\n".join(lines))
    load = os.getloadavg()
    print(f"\n{'held-out photos' if args.held_out else 'evaluation photos'}; synthesis {args.synthesis}; "
          f"{iterations} iterations per level, {args.threads} threads; load average at the end: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
