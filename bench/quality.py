"""Quality benchmark: hole L1/L2/PSNR/SSIM/sharpness and time of classic inpainters, the content
network alone and the full Multi-Scale Neural Patch Synthesis pipeline on the fixed evaluation set
(bench/eval_set.py).

    python bench/quality.py                 # default run (see --help for its size), ~25 min CPU
    python bench/quality.py --quick         # 2-3 min smoke run: 2 images, centre + rect, fewer iterations
    python bench/quality.py --grid docs/quality_grid.jpg

Methods (each skipped with a note when its package or weights are missing):
  telea, navier-stokes   OpenCV cv2.inpaint, radius 5 (8-bit)
  biharmonic             skimage.restoration.inpaint_biharmonic
  patchmatch             PyPatchMatch (pypatchmatch wheel), patch radius 3
  content                the pipeline with alpha=0, iterations=0: content network at 128 px, up-sampled
  nps-<backbone>         the full pipeline (defaults.ALPHA/BETA/ITERATIONS unless overridden) with
                         efficientnet_lite0; vgg19_random as a control (subset, see --control-*);
                         vgg19 (ImageNet) only when its weights file is found
Results are cached per case/method/settings/weights in the cache dir (bench/eval_set.cache_dir()),
so an interrupted run resumes; the aggregated rows go to OUT/quality.json and the table to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import eval_set  # noqa: E402
from metrics import all_metrics  # noqa: E402

CLASSIC = ("telea", "navier-stokes", "biharmonic", "patchmatch")
METRIC_COLUMNS = (("l1", "L1 %", 2), ("l2", "L2 %", 2), ("psnr", "PSNR dB", 2), ("ssim", "SSIM", 3),
                  ("sharp", "sharpness", 2), ("seconds", "s/img", 1))


# --------------------------------------------------------------------------------------------- methods

def _u8(img):
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def _composite(out, img, mask):
    res = img.copy()
    res[mask] = out[mask]
    return res


def classic_fill(method, img, mask):
    """img [H,W,3] float 0..1, mask [H,W] bool -> [H,W,3] float (known pixels copied from img)."""
    if method in ("telea", "navier-stokes"):
        import cv2

        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        out = cv2.inpaint(_u8(img), mask.astype(np.uint8) * 255, 5, flag).astype(np.float32) / 255
    elif method == "biharmonic":
        from skimage.restoration import inpaint_biharmonic

        out = inpaint_biharmonic(img.astype(np.float64), mask, channel_axis=-1).astype(np.float32)
    elif method == "patchmatch":
        from patchmatch import patch_match

        patch_match.set_random_seed(0)
        out = patch_match.inpaint(_u8(img), mask.astype(np.uint8) * 255, patch_size=3).astype(np.float32) / 255
    else:
        raise ValueError(method)
    return _composite(np.clip(out, 0, 1), img, mask)


def classic_available(method):
    try:
        if method in ("telea", "navier-stokes"):
            import cv2  # noqa: F401
        elif method == "biharmonic":
            import skimage.restoration  # noqa: F401
        elif method == "patchmatch":
            from patchmatch import patch_match

            patch_match.set_random_seed(0)
            probe = np.zeros((16, 16, 3), np.uint8)
            m = np.zeros((16, 16), np.uint8)
            m[6:10, 6:10] = 255
            patch_match.inpaint(probe, m, patch_size=1)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        return f"{type(exc).__name__}: {exc}"


class NPSRunner:
    """Holds the content network (loaded once from a fixed file) and texture settings per backbone."""

    def __init__(self, content_net_path=None):
        from nps_core.content_net import load_content_net
        self.model = load_content_net(content_net_path)
        self.textures = {}

    def texture(self, backbone):
        if backbone not in self.textures:
            from nps_core.texture import make_texture_settings

            self.textures[backbone] = make_texture_settings(backbone)
        return self.textures[backbone]

    def fill(self, img, mask, backbone=None, alpha=0.0, beta=0.0, iterations=0):
        import torch

        from nps_core.pipeline import inpaint

        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
        m = torch.from_numpy(mask.astype(np.float32))[None, None]
        tex = self.texture(backbone) if backbone and alpha > 0 else None
        r = inpaint(x, m, content_net=self.model, texture=tex, alpha=alpha, beta=beta, iterations=iterations)
        return r.image[0].permute(1, 2, 0).numpy().astype(np.float32)


def backbone_available(name):
    try:
        from nps_core.backbones import load_backbone

        load_backbone(name)
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"


# --------------------------------------------------------------------------------------------- running

def sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_net_file(path):
    if path:
        return Path(path)
    from nps_core.paths import default_content_weights_path

    return Path(default_content_weights_path())


def plan(args):
    """[(case, method_label, spec dict)] to run."""
    from nps_core import defaults

    cases = eval_set.build_cases(args.images, args.large, args.families, args.large_families)
    alpha = defaults.ALPHA if args.alpha is None else args.alpha
    beta = defaults.BETA if args.beta is None else args.beta
    jobs = []
    control_names = {s.name for s in eval_set.MAIN_SOURCES[: args.control_images]}
    for case in cases:
        for method in args.methods:
            if method in CLASSIC:
                spec = dict(kind="classic", method=method)
            elif method == "content":
                spec = dict(kind="nps", backbone=None, alpha=0.0, beta=0.0, iterations=0)
            elif method.startswith("nps-"):
                backbone = method[4:]
                its = args.iterations
                if backbone == "vgg19_random":
                    if case.name not in control_names or case.family not in args.control_families \
                            or case.size != eval_set.MAIN_SIZE:
                        continue
                    its = args.control_iterations
                if case.size > eval_set.MAIN_SIZE and args.large_iterations:
                    its = args.large_iterations
                spec = dict(kind="nps", backbone=backbone, alpha=alpha, beta=beta, iterations=its)
            else:
                raise SystemExit(f"unknown method {method!r}")
            jobs.append((case, method, spec))
    return jobs


def job_cost(job):
    """Rough relative cost, for balancing shards."""
    case, method, spec = job
    if spec["kind"] == "classic" or not spec.get("backbone"):
        return 0.05
    area = {"centre": 1.0, "rect": 0.15, "strokes": 0.35}.get(case.family, 1.0) * (case.size / 512) ** 2
    return area * max(spec["iterations"], 1) * (4.0 if "vgg19" in spec["backbone"] else 1.0)


def shard(jobs, i, n):
    """Jobs of shard i of n: greedy longest-first balance of job_cost (deterministic)."""
    loads = [0.0] * n
    mine = []
    for k, job in sorted(enumerate(jobs), key=lambda kj: (-job_cost(kj[1]), kj[0])):
        b = loads.index(min(loads))
        loads[b] += job_cost(job)
        if b == i:
            mine.append((k, job))
    return [job for _, job in sorted(mine, key=lambda kj: kj[0])]


def job_key(case, spec, weights_sha):
    parts = [case.key, str(case.size), json.dumps(spec, sort_keys=True)]
    if spec["kind"] == "nps":
        parts.append(weights_sha)
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def run_jobs(jobs, args, weights_path, weights_sha, log=print):
    cache = eval_set.cache_dir() / "quality"
    (cache / "fills").mkdir(parents=True, exist_ok=True)
    rows_file = cache / "rows.jsonl"
    done = {}
    if rows_file.exists():
        for line in rows_file.read_text().splitlines():
            try:
                r = json.loads(line)
                done[r["key"]] = r
            except (json.JSONDecodeError, KeyError):
                pass
    runner = None
    unavailable = {}
    rows = []
    for i, (case, method, spec) in enumerate(jobs):
        key = job_key(case, spec, weights_sha)
        if key in done and not args.rerun and (cache / "fills" / f"{key}.npy").exists():
            rows.append(done[key])
            continue
        if method in unavailable:
            continue
        if spec["kind"] == "classic":
            why = classic_available(method)
        elif spec.get("backbone"):
            why = backbone_available(spec["backbone"])
        else:
            why = None
        if why:
            unavailable[method] = why
            log(f"skip {method}: {why}")
            continue
        t = time.perf_counter()
        if spec["kind"] == "classic":
            out = classic_fill(method, case.image, case.mask)
        else:
            if runner is None:
                runner = NPSRunner(weights_path)
            out = runner.fill(case.image, case.mask, spec["backbone"], spec["alpha"], spec["beta"], spec["iterations"])
        seconds = time.perf_counter() - t
        row = dict(key=key, case=case.key, image=case.name, family=case.family, size=case.size, method=method,
                   spec=spec, seconds=seconds, hole=float(case.mask.mean()), **all_metrics(out, case.image, case.mask))
        np.save(cache / "fills" / f"{key}.npy", (np.clip(out, 0, 1) * 255).round().astype(np.uint8))
        with open(rows_file, "a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)
        log(f"[{i + 1}/{len(jobs)}] {case.key:24s} {case.size:4d} {method:20s} L1 {row['l1']:5.2f}% "
            f"PSNR {row['psnr']:5.2f} SSIM {row['ssim']:.3f} sharp {row['sharp']:.2f}  {seconds:6.1f} s")
    return rows, unavailable


# --------------------------------------------------------------------------------------------- report

def table(rows, methods, families, sizes):
    out = []
    for size in sizes:
        for fam in families:
            sel = [r for r in rows if r["family"] == fam and r["size"] == size]
            if not sel:
                continue
            n_img = len({r["image"] for r in sel})
            cov = np.mean([r["hole"] for r in sel if r["method"] == sel[0]["method"]]) * 100
            out.append(f"\n**{fam}** masks, {size} px ({n_img} images, mean hole {cov:.1f} % of the image)\n")
            out.append("| method | n | " + " | ".join(c[1] for c in METRIC_COLUMNS) + " |")
            out.append("|---|---|" + "---|" * len(METRIC_COLUMNS))
            for method in methods:
                mr = [r for r in sel if r["method"] == method]
                if not mr:
                    continue
                cells = []
                for key, _, nd in METRIC_COLUMNS:
                    v = np.array([r[key] for r in mr], dtype=np.float64)
                    cells.append(f"{v.mean():.{nd}f} ± {v.std():.{nd}f}" if len(v) > 1 else f"{v.mean():.{nd}f}")
                label = method
                its = {r["spec"].get("iterations") for r in mr if r["spec"]["kind"] == "nps" and r["spec"].get("backbone")}
                if its:
                    label += f" ({'/'.join(str(i) for i in sorted(its))} it)"
                out.append(f"| {label} | {len(mr)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def wins(rows, families, target="nps-efficientnet_lite0"):
    """Lines: per family, does the target beat every classic baseline on L1/L2/PSNR; PSNR vs content; sharpness."""
    lines = []
    for fam in families:
        sel = [r for r in rows if r["family"] == fam and r["size"] == eval_set.MAIN_SIZE]
        def mean(m, k):
            v = [r[k] for r in sel if r["method"] == m]
            return float(np.mean(v)) if v else None
        t = {k: mean(target, k) for k in ("l1", "l2", "psnr", "sharp")}
        if t["l1"] is None:
            continue
        beaten = []
        for c in CLASSIC:
            cm = {k: mean(c, k) for k in ("l1", "l2", "psnr")}
            if cm["l1"] is None:
                continue
            ok = t["l1"] < cm["l1"] and t["l2"] < cm["l2"] and t["psnr"] > cm["psnr"]
            beaten.append(f"{c} {'beaten' if ok else 'NOT beaten'}")
        c_psnr, c_sharp = mean("content", "psnr"), mean("content", "sharp")
        extra = ""
        if c_psnr is not None:
            extra = (f"; PSNR vs content {t['psnr'] - c_psnr:+.2f} dB; sharpness {c_sharp:.2f} -> {t['sharp']:.2f} "
                     f"(|1-s| {abs(1 - c_sharp):.2f} -> {abs(1 - t['sharp']):.2f})")
        lines.append(f"- {fam}: " + ", ".join(beaten) + extra)
    return "\n".join(lines)


def make_grid(rows, cases_keys, methods, path, tile=256):
    """PNG/JPEG grid: per case a row of input (hole grey), each method, truth."""
    from PIL import Image, ImageDraw

    cache = eval_set.cache_dir() / "quality" / "fills"
    cases = {c.key: c for c in eval_set.build_cases(None, 0)}
    cols = ["input"] + list(methods) + ["truth"]
    header = 22
    grid = Image.new("RGB", (tile * len(cols), header + tile * len(cases_keys)), "white")
    draw = ImageDraw.Draw(grid)
    for j, name in enumerate(cols):
        draw.text((j * tile + 4, 4), name.replace("nps-efficientnet_lite0", "NPS (EfficientNet)"), fill="black")
    for i, ck in enumerate(cases_keys):
        case = cases[ck]
        tiles = []
        shown = case.image.copy()
        shown[case.mask] = 0.5
        tiles.append(shown)
        for m in methods:
            r = next((r for r in rows if r["case"] == ck and r["method"] == m and r["size"] == case.size), None)
            tiles.append(np.load(cache / f"{r['key']}.npy").astype(np.float32) / 255 if r else None)
        tiles.append(case.image)
        for j, t in enumerate(tiles):
            if t is None:
                continue
            im = Image.fromarray(_u8(t)).resize((tile, tile), Image.LANCZOS)
            grid.paste(im, (j * tile, header + i * tile))
        draw.text((4, header + i * tile + 4), ck, fill="yellow")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        grid.save(path, quality=88)
    else:
        grid.save(path)
    return path


# --------------------------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 images, centre+rect, 20 iterations, no control")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for quality.json (default bench/results)")
    ap.add_argument("--images", type=int, default=5, help="first N images of the 512-px set (max %d)" % len(eval_set.MAIN_SOURCES))
    ap.add_argument("--families", default=",".join(eval_set.FAMILIES))
    ap.add_argument("--large", type=int, default=1, help="first N images of the 1024-px set")
    ap.add_argument("--large-families", default="centre")
    ap.add_argument("--large-iterations", type=int, default=50, help="iterations per level for 1024-px images "
                    "(0 = same as --iterations)")
    ap.add_argument("--methods", default="telea,navier-stokes,biharmonic,patchmatch,content,nps-efficientnet_lite0,nps-vgg19_random,nps-vgg19")
    ap.add_argument("--iterations", type=int, default=None, help="per level (default nps_core.defaults.ITERATIONS)")
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--beta", type=float, default=None)
    ap.add_argument("--control-images", type=int, default=3, help="vgg19_random control: first N images")
    ap.add_argument("--control-families", default="rect")
    ap.add_argument("--control-iterations", type=int, default=50)
    ap.add_argument("--content-net", default=None, help="content-network file (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    ap.add_argument("--grid", default=None, help="write a PNG/JPEG grid of --grid-cases")
    ap.add_argument("--grid-cases", default="astronaut/centre,ladybird/rect,china/strokes,coffee/centre")
    ap.add_argument("--shard", default=None, help="i/n: run only shard i of n (cost-balanced; parallel processes share the cache; "
                    "a final run without --shard prints the table from the cache)")
    ap.add_argument("--rerun", action="store_true", help="ignore cached results")
    args = ap.parse_args(argv)
    if args.quick:
        args.images, args.large, args.families = 2, 0, "centre,rect"
        args.iterations = args.iterations or 20
        args.methods = args.methods.replace(",nps-vgg19_random", "")
    args.families = tuple(f for f in args.families.split(",") if f)
    args.large_families = tuple(f for f in args.large_families.split(",") if f)
    args.control_families = tuple(f for f in args.control_families.split(",") if f)
    args.methods = [m for m in args.methods.split(",") if m]

    import torch

    from nps_core import defaults

    torch.set_num_threads(args.threads)
    if args.iterations is None:
        args.iterations = defaults.ITERATIONS
    shipped = content_net_file(args.content_net)
    weights_sha = sha1_file(shipped)
    # Work on a frozen copy: the shipped file may be replaced (training) while the benchmark runs.
    weights = eval_set.cache_dir() / "quality" / f"content_net_{weights_sha[:12]}.safetensors"
    if not weights.exists():
        import shutil

        weights.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shipped, weights)
        if sha1_file(weights) != weights_sha:
            weights.unlink()
            raise SystemExit(f"{shipped} changed while it was copied; run again")
    alpha = defaults.ALPHA if args.alpha is None else args.alpha
    beta = defaults.BETA if args.beta is None else args.beta
    started = time.perf_counter()
    print(f"content network: {shipped} sha1 {weights_sha[:12]}; ALPHA {alpha:g} BETA {beta:g}; "
          f"iterations {args.iterations}; torch {torch.__version__} {args.threads} thread(s); "
          f"{platform.processor() or platform.machine()}", flush=True)
    jobs = plan(args)
    if args.shard:
        i, n = (int(v) for v in args.shard.split("/"))
        jobs = shard(jobs, i, n)
    rows, unavailable = run_jobs(jobs, args, weights, weights_sha, log=lambda s: print(s, flush=True))
    elapsed = time.perf_counter() - started
    sizes = sorted({r["size"] for r in rows})
    text = table(rows, args.methods, args.families + tuple(f for f in args.large_families if f not in args.families), sizes)
    summary = wins(rows, args.families)
    notes = [f"- {m} not run: {why}" for m, why in unavailable.items()]
    print("\n" + text)
    print("\nFull pipeline vs baselines (means, 512 px):\n" + summary)
    if notes:
        print("\n" + "\n".join(notes))
    print(f"\nwall time {elapsed / 60:.1f} min ({len(rows)} rows)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(dict(
        weights=str(shipped), weights_sha1=weights_sha, alpha=alpha, beta=beta, iterations=args.iterations,
        args={k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
        rows=rows, unavailable=unavailable, table=text, summary=summary, minutes=elapsed / 60), indent=1))
    if args.grid:
        keys = [k for k in args.grid_cases.split(",") if any(r["case"] == k for r in rows)]
        grid_methods = [m for m in args.methods if m != "nps-vgg19_random" and any(r["method"] == m for r in rows)]
        print(f"grid: {make_grid(rows, keys, grid_methods, args.grid)}")


if __name__ == "__main__":
    main()
