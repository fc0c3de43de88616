"""Small holes in large photos: the synthesis's source limited to the context window, or wider.

`SynthesisSettings(source_scale=F)` lets the synthesis copy from the window grown to F x its side
(nps_core/source_region.py). It matters where the window is much smaller than the photo. This
benchmark takes the evaluation set's 1024 px photos (bench/eval_set.py, never training or
calibration data) with the 512 px `rect` masks placed in their middle (1-3 rectangles, sides
48-160 px), hides each hole with seeded noise, and prints hole L1 %, PSNR dB, sharpness and
seconds per setting, with the time as a ratio to the first setting's in the same run.

    python bench/source_scale.py --held-out       # calibration: the held-out photos (lxqt-themes)
    python bench/source_scale.py                  # evaluation photos; scales 1, 2, 3; 2 threads
    python bench/source_scale.py --scales 1,4 --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import eval_set  # noqa: E402
from metrics import all_metrics  # noqa: E402


def small_holes(truth: np.ndarray, seed: int) -> np.ndarray:
    """[1024,1024] bool: a 512 px `rect` mask (eval_set.make_mask, this seed) in the middle."""
    big, small = eval_set.LARGE_SIZE, eval_set.MAIN_SIZE
    offset = (big - small) // 2
    mask = np.zeros(truth.shape[:2], dtype=bool)
    mask[offset:offset + small, offset:offset + small] = eval_set.make_mask("rect", small, seed)
    return mask


def evaluation_cases():
    """(name, truth [1024,1024,3] float 0..1, mask [1024,1024] bool, given) for each 1024 px photo."""
    out = []
    for src in eval_set.LARGE_SOURCES:
        truth = eval_set.cached_image(src, eval_set.LARGE_SIZE)
        mask = small_holes(truth, eval_set.mask_seed("rect", src.name))
        given = eval_set.hide_hole(truth, mask, eval_set.noise_seed("source_scale", src.name))
        out.append((src.name, truth, mask, given))
    return out


def held_out_cases():
    """The same construction on the content network's held-out photos (the calibration set of
    bench/calibrate_synthesis.py): square crops at 1/4 and 3/4 along the long side, 1024 px."""
    from calibrate_synthesis import HELD_OUT
    from PIL import Image

    out = []
    for i, path in enumerate(p for p in HELD_OUT if Path(p).exists()):
        im = Image.open(path).convert("RGB")
        w, h = im.size
        side = min(w, h)
        for j, frac in enumerate((0.25, 0.75)):
            x0, y0 = (int((w - side) * frac), 0) if w > h else (0, int((h - side) * frac))
            crop = im.crop((x0, y0, x0 + side, y0 + side)).resize((eval_set.LARGE_SIZE,) * 2, Image.LANCZOS)
            truth = np.asarray(crop, dtype=np.float32) / 255
            mask = small_holes(truth, 3000 + 10 * i + j)
            key = f"{Path(path).stem}/{j}"
            out.append((key, truth, mask, eval_set.hide_hole(truth, mask, eval_set.noise_seed("source_scale", key))))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="1,2,3", help="comma-separated source_scale values (first = baseline)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--held-out", action="store_true",
                    help="the content network's held-out photos (calibration) instead of the evaluation photos")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from nps_core.content import load_content_net
    from nps_core.pipeline import inpaint
    from nps_core.synthesis import SynthesisSettings
    from nps_core.texture import make_texture_settings

    model, texture = load_content_net(None), make_texture_settings("efficientnet_lite0")
    scales = [float(s) for s in args.scales.split(",")]
    rows = {s: [] for s in scales}
    for name, truth, mask, given in (held_out_cases() if args.held_out else evaluation_cases()):
        x = torch.from_numpy(np.ascontiguousarray(given)).permute(2, 0, 1)[None].float()
        m = torch.from_numpy(mask.astype(np.float32))[None, None]
        for s in scales:
            started = time.perf_counter()
            out = inpaint(x, m, content_net=model, texture=texture, synthesis=SynthesisSettings(source_scale=s))
            seconds = time.perf_counter() - started
            metrics = all_metrics(out.image[0].permute(1, 2, 0).numpy(), truth, mask)
            metrics["s"] = seconds
            rows[s].append(metrics)
            print(f"  {name} source_scale {s:g}: L1 {metrics['l1']:.2f} %  PSNR {metrics['psnr']:.2f} dB  "
                  f"sharpness {metrics['sharp']:.2f}  {seconds:.1f} s", flush=True)
    base = np.mean([r["s"] for r in rows[scales[0]]])
    print("| source_scale | L1 % | PSNR dB | sharpness | s/img | time vs first |")
    print("|---|---|---|---|---|---|")
    for s in scales:
        mean = {k: float(np.mean([r[k] for r in rows[s]])) for k in ("l1", "psnr", "sharp", "s")}
        print(f"| {s:g} | {mean['l1']:.2f} | {mean['psnr']:.2f} | {mean['sharp']:.2f} | {mean['s']:.1f} | "
              f"{mean['s'] / base:.2f}x |")


if __name__ == "__main__":
    main()
