"""Evaluate the content network on held-out photographs against mean-fill and OpenCV Telea.

    .venv/bin/python bench/eval_content_net.py [--weights weights/content_net.safetensors]
        [--set heldout|evalset] [--val-data /root/nps-data/photos/val] [--per-image 32]
        [--grid weights/content_net_preview.png] [--compare OTHER.safetensors]

Two photo sets: `heldout` (default) is the training corpus's held-out split (`--val-data`);
`evalset` is the 12 main photos of the quality benchmark (bench/eval_set.py: scikit-image,
scikit-learn, matplotlib and mate-backgrounds photos at 512 px, never training data).
Windows: for every photo, `--per-image` 128x128 windows (the centre crop plus
random crops at random scales) with fixed-seed masks cycling through the paper's centre square,
random rectangles and free-form strokes (`nps_core.train.data.fixed_eval_set`, seed 2024 -- a
different draw from the seed-1234 set used for model selection during training).
Every method is given the windows with their hole pixels overwritten by seeded uniform noise
(bench/eval_set.hide_hole, one seed per window from --seed), never the truth; the metrics and the
pasted-back known pixels use the truth.
Metrics are measured on hole pixels only: L1 (mean absolute error), L2 (mean squared error) and
PSNR (dB, mean of per-window PSNRs), for 0..1 RGB, plus a sharpness ratio (hole gradient
energy of the fill over the truth's; 1 = as detailed as the photo, a smear is far below 1). Prints a
markdown table and writes a grid PNG (input with hole | Telea | [compared net |] content net composited |
truth) for a few windows.
Needs `opencv-python-headless` (bench dependency only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from nps_core.content import load_content_net, mean_fill, predict_content  # noqa: E402
from nps_core.train.data import PhotoSet, fixed_eval_set, load_photo_set  # noqa: E402
from nps_core.train.masks import MASK_KINDS  # noqa: E402
from nps_core.train.metrics import hole_errors  # noqa: E402


def telea(images: torch.Tensor, masks: torch.Tensor, radius: int = 5) -> torch.Tensor:
    """OpenCV Telea inpainting per image: images [B,3,H,W] 0..1, masks [B,1,H,W] -> [B,3,H,W] 0..1 (CPU)."""
    import cv2

    out = []
    for img, m in zip(images, masks, strict=True):
        arr = (img.permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
        hole = ((m[0].numpy() > 0.5) * 255).astype(np.uint8)
        res = cv2.inpaint(arr, hole, radius, cv2.INPAINT_TELEA)
        out.append(torch.from_numpy(res.astype(np.float32) / 255.0).permute(2, 0, 1))
    return torch.stack(out)


def hide_windows(images: torch.Tensor, masks: torch.Tensor, seed: int) -> torch.Tensor:
    """What the methods are given: images [N,3,H,W] 0..1 with the hole pixels of masks [N,1,H,W]
    overwritten by noise (eval_set.hide_hole, seed from (seed, window index)); a new tensor."""
    from eval_set import hide_hole, noise_seed

    out = [torch.from_numpy(hide_hole(img.permute(1, 2, 0).numpy(), m[0].numpy(), noise_seed("window", seed, i)))
           .permute(2, 0, 1) for i, (img, m) in enumerate(zip(images, masks, strict=True))]
    return torch.stack(out).to(images.dtype)


def composite(pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return truth * (1 - mask) + pred * mask


def hole_gradients(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-window mean grey-level gradient magnitude inside the hole, border pixels
    (bench/metrics.py's SEAM) left out: images [N,3,H,W] 0..1, masks [N,1,H,W] -> [N] float64."""
    from metrics import SEAM, erode, gradient_magnitude

    out = []
    for img, m in zip(images, masks, strict=True):
        hole = m[0].numpy() > 0.5
        inner = erode(hole, SEAM)
        hole = inner if inner.any() else hole
        out.append(gradient_magnitude(img.permute(1, 2, 0).numpy())[hole].mean())
    return torch.tensor(out, dtype=torch.float64)


def evaluate(methods: dict[str, torch.Tensor], truth: torch.Tensor, masks: torch.Tensor, kinds: list[str]):
    """{method: {"all"|kind: {"l1","l2","psnr","sharp"}}} from per-window hole errors. "sharp" is the
    pooled sharpness ratio: summed hole gradient magnitude of the fill over that of the truth
    (1 = as much edge energy as the photo, lower = smoother, a smear is far below 1)."""
    kinds_arr = np.array(kinds)
    truth_grad = hole_gradients(truth, masks)
    table = {}
    for name, pred in methods.items():
        errs = hole_errors(pred, truth, masks)
        errs["sharp"] = hole_gradients(pred, masks)
        def summary(sel, errs=errs):
            row = {k: float(v[sel].mean()) for k, v in errs.items() if k != "sharp"}
            row["sharp"] = float(errs["sharp"][sel].sum() / truth_grad[sel].sum().clamp_min(1e-12))
            return row

        rows = {"all": summary(torch.ones(len(kinds), dtype=torch.bool))}
        for kind in MASK_KINDS:
            sel = torch.from_numpy(kinds_arr == kind)
            if sel.any():
                rows[kind] = summary(sel)
        table[name] = rows
    return table


def markdown_table(table, counts: dict[str, int]) -> str:
    kinds = [k for k in MASK_KINDS if k in counts]
    head = "| method | hole L1 | hole L2 | hole PSNR (dB) | sharpness | " + " | ".join(
        f"PSNR {k} (n={counts[k]})" for k in kinds) + " |"
    sep = "|---|---:|---:|---:|---:|" + "---:|" * len(kinds)
    lines = [head, sep]
    for name, rows in table.items():
        a = rows["all"]
        lines.append(f"| {name} | {a['l1']:.4f} | {a['l2']:.5f} | {a['psnr']:.2f} | {a['sharp']:.2f} | "
                     + " | ".join(f"{rows[k]['psnr']:.2f}" for k in kinds) + " |")
    return "\n".join(lines)


def save_grid(path: Path, columns: list[torch.Tensor], labels: list[str], rows: list[int], scale: int = 2) -> None:
    from PIL import Image, ImageDraw

    size = columns[0].shape[-1] * scale
    pad, top = 4, 18
    grid = Image.new("RGB", (len(columns) * (size + pad) + pad, top + len(rows) * (size + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for c, label in enumerate(labels):
        draw.text((pad + c * (size + pad) + 4, 3), label, fill=(0, 0, 0))
    for r, idx in enumerate(rows):
        for c, col in enumerate(columns):
            arr = (col[idx].permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
            tile = Image.fromarray(arr).resize((size, size), Image.NEAREST)
            grid.paste(tile, (pad + c * (size + pad), top + pad + r * (size + pad)))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


def predict_all(weights, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Raw predictions of the content net in `weights` (None = shipped) for [N,3,128,128] windows."""
    model = load_content_net(weights)
    with torch.no_grad():
        return torch.cat([predict_content(model, images[i : i + 32], masks[i : i + 32])
                          for i in range(0, len(images), 32)])


def evalset_photos() -> PhotoSet:
    """The quality benchmark's 12 main photos (512x512, uint8) as a PhotoSet."""
    from eval_set import MAIN_SIZE, MAIN_SOURCES, cached_image

    arrays = [(cached_image(src, MAIN_SIZE) * 255.0 + 0.5).clip(0, 255).astype(np.uint8) for src in MAIN_SOURCES]
    return PhotoSet(arrays, [Path(src.name) for src in MAIN_SOURCES])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=None, help="content-net file (default: the shipped weights)")
    ap.add_argument("--set", default="heldout", choices=("heldout", "evalset"),
                    help="heldout: the corpus's held-out split (--val-data); evalset: bench/eval_set.py's 12 photos")
    ap.add_argument("--val-data", default="/root/nps-data/photos/val")
    ap.add_argument("--compare", default=None, help="a second content-net file to report beside --weights")
    ap.add_argument("--per-image", type=int, default=32)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--grid", default=str(ROOT / "weights" / "content_net_preview.png"))
    ap.add_argument("--grid-rows", type=int, default=6)
    ap.add_argument("--json", default=None, help="also write the numbers here")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    photos = evalset_photos() if args.set == "evalset" else load_photo_set(args.val_data, cache_side=768, log=False)
    images, masks, kinds, names = fixed_eval_set(photos, 128, per_image=args.per_image, seed=args.seed)
    given = hide_windows(images, masks, args.seed)   # the methods never see the truth's hole pixels
    methods = {"content net (this pack)": composite(predict_all(args.weights, given, masks), images, masks)}
    if args.compare:
        methods[f"content net ({Path(args.compare).name})"] = composite(
            predict_all(args.compare, given, masks), images, masks)
    methods["OpenCV Telea (r=5)"] = composite(telea(given, masks), images, masks)
    methods["mean fill"] = composite(mean_fill(given, masks), images, masks)
    table = evaluate(methods, images, masks, kinds)
    counts = {k: kinds.count(k) for k in MASK_KINDS if k in kinds}
    label = "evaluation-set" if args.set == "evalset" else "held-out"
    print(f"{len(images)} windows of 128x128 from {len(photos)} {label} photos "
          f"({', '.join(f'{k}: {n}' for k, n in counts.items())}); hole pixels only, RGB in 0..1.\n")
    print(markdown_table(table, counts))

    rows = []  # a spread of windows covering every mask kind
    for k in range(args.grid_rows):
        want = MASK_KINDS[k % len(MASK_KINDS)]
        cands = [i for i, kd in enumerate(kinds) if kd == want and i not in rows]
        if cands:
            rows.append(cands[(k * 7) % len(cands)])
    shown_input = images * (1 - masks) + masks * torch.tensor([1.0, 0.0, 1.0]).view(1, 3, 1, 1)
    columns = [shown_input, methods["OpenCV Telea (r=5)"]]
    labels = ["input (hole magenta)", "OpenCV Telea"]
    if args.compare:
        columns.append(methods[f"content net ({Path(args.compare).name})"])
        labels.append(Path(args.compare).stem)
    save_grid(Path(args.grid), columns + [methods["content net (this pack)"], images],
              labels + ["content net", "truth"], rows)
    print(f"\ngrid: {args.grid}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"table": table, "counts": counts, "windows": len(images)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
