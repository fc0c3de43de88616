"""Quality benchmark: hole L1/L2/PSNR/SSIM/sharpness and time of classic inpainters, the content
network alone and the full Multi-Scale Neural Patch Synthesis pipeline on the fixed evaluation set
(bench/eval_set.py).

    python bench/quality.py                 # default run (see --help for its size), ~25 min CPU
    python bench/quality.py --quick         # 2-3 min smoke run: 2 images, centre + rect, fewer iterations
    python bench/quality.py --grid docs/quality_grid.jpg

Every method is given the photo with its hole pixels overwritten by seeded uniform noise
(eval_set.Case.input_image / eval_set.hide_hole), never the truth; the metrics compare the fill with
the truth. Methods (each skipped with a note when its package, program or weights are missing):
  telea, navier-stokes   OpenCV cv2.inpaint, radius 5 (8-bit)
  biharmonic             skimage.restoration.inpaint_biharmonic
  patchmatch             PyPatchMatch (pypatchmatch wheel), patch radius 3
  gmic                   G'MIC multi-scale PatchMatch (`gmic` program, `apt-get install gmic`):
                         inpaint_matchpatch, scales auto, patch 9, 10 iterations/scale, blend 5, no
                         outer blending; OMP_NUM_THREADS = --threads
  resynthesizer          GIMP's Resynthesizer engine (PyPI resynthesizer==1.2) with GIMP
                         heal-selection's settings: patch 16, 500 probes, sensitivity to outliers
                         0.117, map weight 0, context (filling order) 1, no tiling; the corpus is
                         every known pixel of the image
  content                the pipeline with alpha=0, iterations=0: content network at 128 px, up-sampled
  nps-<backbone>         the full pipeline (defaults.ALPHA/BETA/ITERATIONS unless overridden) with
                         efficientnet_lite0; vgg19_random as a control (subset, see --control-*);
                         vgg19 (ImageNet) only when its weights file is found
All known pixels of every fill are pasted back from the input. Seconds are per image, wall clock
of the method call (for gmic including its PNG round trip); the summary gives each NPS method's
mean seconds as a ratio of gmic's, per family and size.
Results are cached per case/method/settings/weights/input in the cache dir
(bench/eval_set.cache_dir()), so an interrupted run resumes; the aggregated rows go to
OUT/quality.json and the table to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import eval_set  # noqa: E402
from metrics import all_metrics  # noqa: E402

CLASSIC = ("telea", "navier-stokes", "biharmonic", "patchmatch", "gmic", "resynthesizer")
DEFAULT_METHODS = CLASSIC + ("content", "nps-plain-efficientnet_lite0", "nps-efficientnet_lite0",
                             "nps-vgg19_random", "nps-vgg19")


def _code_version() -> str:
    """SHA-1 (12 hex) of nps_core's sources and defaults: cached NPS rows are reused only for the same code."""
    h = hashlib.sha1()
    for path in sorted((HERE.parent / "nps_core").rglob("*.py")):
        h.update(path.relative_to(HERE.parent).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


CODE_VERSION = _code_version()
# What every method is given; part of the cache key (rows computed on another input are not reused).
INPUT = "noise-hole"
# G'MIC inpaint_matchpatch arguments after the mask: nb_scales (0 = auto), patch size,
# iterations per scale, blend size, allow outer blending.
GMIC_ARGS = "0,9,10,5,0"
# GIMP heal-selection's call of the Resynthesizer engine (plugin-heal-selection: no tiling,
# context = filling order 1, map weight 0, sensitivity 0.117, patch 16, 500 probes).
RESYNTH = dict(tile_h=0, tile_v=0, context=1, map_weight=0.0, sensitivity=0.117, patch=16, probes=500)
CLASSIC_SETTINGS = {"gmic": dict(args=GMIC_ARGS), "resynthesizer": RESYNTH}
METRIC_COLUMNS = (("l1", "L1 %", 2), ("l2", "L2 %", 2), ("psnr", "PSNR dB", 2), ("ssim", "SSIM", 3),
                  ("sharp", "sharpness", 2), ("seconds", "s/img", 1))


# --------------------------------------------------------------------------------------------- methods

def _u8(img):
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def _composite(out, img, mask):
    res = img.copy()
    res[mask] = out[mask]
    return res


def gmic_fill(img, mask, threads=1):
    """G'MIC multi-scale PatchMatch (inpaint_matchpatch) of img [H,W,3] float 0..1 with mask [H,W]
    bool (True = hole) -> [H,W,3] float 0..1 straight from gmic (not composited)."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="nps-gmic-") as d:
        src, hole, out = (os.path.join(d, n) for n in ("image.png", "mask.png", "out.png"))
        Image.fromarray(_u8(img)).save(src)
        Image.fromarray(mask.astype(np.uint8) * 255).save(hole)
        cmd = ["gmic", "-v", "0", src, hole, "channels[0]", "0,2", "channels[1]", "0", "ge[1]", "128",
               "+inpaint_matchpatch[0]", f"[1],{GMIC_ARGS}", "keep[2]", "round", "cut", "0,255", "o", out]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if res.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"gmic failed (rc {res.returncode}): {(res.stderr or res.stdout).strip()[-400:]}")
        with Image.open(out) as im:
            filled = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
    if filled.shape != img.shape:
        raise RuntimeError(f"gmic returned {filled.shape}, expected {img.shape}")
    return filled


def resynthesizer_params():
    from resynthesizer import TImageSynthParameters

    p = TImageSynthParameters()
    p.isMakeSeamlesslyTileableHorizontally = RESYNTH["tile_h"]
    p.isMakeSeamlesslyTileableVertically = RESYNTH["tile_v"]
    p.matchContextType = RESYNTH["context"]
    p.mapWeight = RESYNTH["map_weight"]
    p.sensitivityToOutliers = RESYNTH["sensitivity"]
    p.patchSize = RESYNTH["patch"]
    p.maxProbeCount = RESYNTH["probes"]
    return p


def resynthesizer_fill(img, mask):
    """Resynthesizer (GIMP heal-selection settings) of img [H,W,3] float 0..1, mask [H,W] bool ->
    [H,W,3] float 0..1. The engine synthesises the white mask pixels from all the others (the corpus)."""
    from PIL import Image
    from resynthesizer import resynthesize

    out = resynthesize(Image.fromarray(_u8(img)), Image.fromarray(mask.astype(np.uint8) * 255),
                       resynthesizer_params())
    return np.asarray(out.convert("RGB"), dtype=np.float32) / 255


def classic_fill(method, img, mask, threads=1):
    """img [H,W,3] float 0..1 (the input: hole pixels hidden), mask [H,W] bool -> [H,W,3] float
    (known pixels copied from img)."""
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
    elif method == "gmic":
        out = gmic_fill(img, mask, threads)
    elif method == "resynthesizer":
        out = resynthesizer_fill(img, mask)
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
        elif method == "gmic":
            if shutil.which("gmic") is None:
                return "the gmic program is not on PATH (apt-get install gmic)"
        elif method == "resynthesizer":
            from resynthesizer import resynthesize  # noqa: F401
        else:
            return f"unknown classic method {method!r}"
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        return f"{type(exc).__name__}: {exc}"


class NPSRunner:
    """Holds the content network (loaded once from a fixed file) and texture settings per backbone."""

    def __init__(self, content_net_path=None):
        from nps_core.content import load_content_net
        self.model = load_content_net(content_net_path)
        self.textures = {}

    def texture(self, backbone):
        if backbone not in self.textures:
            from nps_core.texture import make_texture_settings

            self.textures[backbone] = make_texture_settings(backbone)
        return self.textures[backbone]

    def fill(self, img, mask, backbone=None, alpha=0.0, beta=0.0, iterations=0, synthesis=True, views=1):
        """synthesis False: SynthesisSettings.plain(), the paper's plain optimisation; views: the
        content network's averaged views (1 = once)."""
        import torch

        from nps_core.pipeline import inpaint
        from nps_core.synthesis import SynthesisSettings

        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
        m = torch.from_numpy(mask.astype(np.float32))[None, None]
        tex = self.texture(backbone) if backbone and (alpha > 0 or synthesis) else None
        syn = SynthesisSettings() if synthesis else SynthesisSettings.plain()
        r = inpaint(x, m, content_net=self.model, texture=tex, alpha=alpha, beta=beta, iterations=iterations,
                    synthesis=syn, content_views=views)
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
                spec = dict(kind="classic", method=method, **CLASSIC_SETTINGS.get(method, {}))
            elif method == "content":
                spec = dict(kind="nps", backbone=None, alpha=0.0, beta=0.0, iterations=0, synthesis=False)
            elif method == "content-views":  # the content network averaged over its 8 flipped views
                spec = dict(kind="nps", backbone=None, alpha=0.0, beta=0.0, iterations=0, synthesis=False,
                            views=defaults.CONTENT_VIEWS)
            elif method.startswith("nps-"):
                backbone = method[4:]
                synthesis = True
                if backbone.startswith("plain-"):      # the paper's plain per-level optimisation
                    backbone, synthesis = backbone[len("plain-"):], False
                its = args.iterations
                if backbone == "vgg19_random":
                    if case.name not in control_names or case.family not in args.control_families \
                            or case.size != eval_set.MAIN_SIZE:
                        continue
                    its = args.control_iterations
                if case.size > eval_set.MAIN_SIZE and args.large_iterations:
                    its = args.large_iterations
                spec = dict(kind="nps", backbone=backbone, alpha=alpha, beta=beta, iterations=its,
                            synthesis=synthesis, code=CODE_VERSION)
                if synthesis:  # the paper's plain pipeline runs the content network once
                    spec["views"] = defaults.CONTENT_VIEWS
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
    parts = [case.key, str(case.size), json.dumps(spec, sort_keys=True), f"input={INPUT}"]
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
            rows.append(dict(done[key], cached=True))
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
        if spec["kind"] == "nps" and runner is None:
            runner = NPSRunner(weights_path)
        given = case.input_image          # hole pixels overwritten by seeded noise: never the truth
        t = time.perf_counter()
        if spec["kind"] == "classic":
            out = classic_fill(method, given, case.mask, args.threads)
        else:
            out = runner.fill(given, case.mask, spec["backbone"], spec["alpha"], spec["beta"], spec["iterations"],
                              spec.get("synthesis", False), spec.get("views", 1))
        seconds = time.perf_counter() - t
        row = dict(key=key, case=case.key, image=case.name, family=case.family, size=case.size, method=method,
                   spec=spec, input=INPUT, threads=args.threads, seconds=seconds, hole=float(case.mask.mean()),
                   **all_metrics(out, case.image, case.mask))
        np.save(cache / "fills" / f"{key}.npy", (np.clip(out, 0, 1) * 255).round().astype(np.uint8))
        with open(rows_file, "a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(dict(row, cached=False))
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
                its = {r["spec"].get("iterations") for r in mr
                       if r["spec"]["kind"] == "nps" and r["spec"].get("backbone")}
                if its:
                    label += f" ({'/'.join(str(i) for i in sorted(its))} it)"
                out.append(f"| {label} | {len(mr)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def wins(rows, families, target="nps-efficientnet_lite0"):
    """Lines: per family, does the target beat every classic baseline on L1/L2/PSNR; PSNR vs content; sharpness."""
    lines = []
    for fam in families:
        sel = [r for r in rows if r["family"] == fam and r["size"] == eval_set.MAIN_SIZE]
        def mean(m, k, sel=sel):
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


def speed_vs_gmic(rows, families, sizes, reference="gmic"):
    """Lines: per family and size, each NPS method's (and content's) mean s/img and its ratio to
    gmic's mean s/img over the same images (rows of this run and of the cache alike)."""
    lines = []
    methods = sorted({r["method"] for r in rows if r["method"].startswith(("content", "nps-"))})
    for size in sizes:
        for fam in families:
            sel = [r for r in rows if r["family"] == fam and r["size"] == size]
            ref = {r["image"]: r["seconds"] for r in sel if r["method"] == reference}
            if not ref:
                continue
            for m in methods:
                mr = [r for r in sel if r["method"] == m and r["image"] in ref]
                if not mr:
                    continue
                t_m = float(np.mean([r["seconds"] for r in mr]))
                t_ref = float(np.mean([ref[r["image"]] for r in mr]))
                lines.append(f"- {fam}, {size} px ({len(mr)} images): {m} {t_m:.1f} s / {reference} {t_ref:.1f} s "
                             f"= {t_m / max(t_ref, 1e-9):.3g}x {reference}'s time")
    return "\n".join(lines)


GRID_LABELS = {"nps-efficientnet_lite0": "NPS (EfficientNet)", "nps-plain-efficientnet_lite0": "NPS plain (paper)",
               "nps-vgg19": "NPS (VGG19)",
               "nps-vgg19_random": "NPS (random VGG19)", "content": "content net",
               "content-views": "content net (8 views)",
               "navier-stokes": "Navier-Stokes", "telea": "Telea", "biharmonic": "biharmonic",
               "patchmatch": "PatchMatch", "gmic": "G'MIC", "resynthesizer": "Resynthesizer",
               "input": "input (hole = noise)", "truth": "truth"}


def _font(size):
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size=size)      # Pillow >= 10.1
    except TypeError:
        return ImageFont.load_default()


def make_grid(rows, cases_keys, methods, path, tile=256):
    """PNG/JPEG grid: per case a row of the input the methods were given (hole = seeded noise),
    each method's fill, the truth."""
    from PIL import Image, ImageDraw

    cache = eval_set.cache_dir() / "quality" / "fills"
    cases = {c.key: c for c in eval_set.build_cases(None, 0)}
    cols = ["input"] + list(methods) + ["truth"]
    font = _font(max(12, tile // 14))
    header = font.size + 12 if hasattr(font, "size") else 22
    grid = Image.new("RGB", (tile * len(cols), header + tile * len(cases_keys)), "white")
    draw = ImageDraw.Draw(grid)
    for j, name in enumerate(cols):
        label = GRID_LABELS.get(name, name)
        while len(label) > 4 and draw.textlength(label, font=font) > tile - 8:
            label = label[:-2] + "…"
        draw.text((j * tile + 4, 5), label, fill="black", font=font)
    for i, ck in enumerate(cases_keys):
        case = cases[ck]
        tiles = [case.input_image]
        for m in methods:
            r = next((r for r in rows if r["case"] == ck and r["method"] == m and r["size"] == case.size), None)
            tiles.append(np.load(cache / f"{r['key']}.npy").astype(np.float32) / 255 if r else None)
        tiles.append(case.image)
        for j, t in enumerate(tiles):
            if t is None:
                continue
            im = Image.fromarray(_u8(t)).resize((tile, tile), Image.LANCZOS)
            grid.paste(im, (j * tile, header + i * tile))
        draw.text((4, header + i * tile + 4), ck, fill="yellow", font=font, stroke_width=2, stroke_fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        grid.save(path, quality=88)
    else:
        grid.save(path)
    return path


# --------------------------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 images, centre+rect, 20 iterations, no control")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for quality.json (default bench/results)")
    ap.add_argument("--images", type=int, default=5,
                    help="first N images of the 512-px set (max %d)" % len(eval_set.MAIN_SOURCES))
    ap.add_argument("--families", default=",".join(eval_set.FAMILIES))
    ap.add_argument("--large", type=int, default=1, help="first N images of the 1024-px set")
    ap.add_argument("--large-families", default="centre")
    ap.add_argument("--large-iterations", type=int, default=50, help="iterations per level for 1024-px images "
                    "(0 = same as --iterations)")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    ap.add_argument("--iterations", type=int, default=None, help="per level (default nps_core.defaults.ITERATIONS)")
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--beta", type=float, default=None)
    ap.add_argument("--control-images", type=int, default=3, help="vgg19_random control: first N images")
    ap.add_argument("--control-families", default="rect")
    ap.add_argument("--control-iterations", type=int, default=50)
    ap.add_argument("--content-net", default=None, help="content-network file (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads and gmic's OMP_NUM_THREADS "
                    "(1 is fastest on a shared 2-core box)")
    ap.add_argument("--grid", default=None, help="write a PNG/JPEG grid of --grid-cases")
    ap.add_argument("--grid-cases", default="astronaut/centre,ladybird/rect,china/strokes,coffee/centre")
    ap.add_argument("--shard", default=None,
                    help="i/n: run only shard i of n (cost-balanced; parallel processes share the cache; "
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
    all_families = args.families + tuple(f for f in args.large_families if f not in args.families)
    text = table(rows, args.methods, all_families, sizes)
    summary = wins(rows, args.families)
    speed = speed_vs_gmic(rows, all_families, sizes)
    notes = [f"- {m} not run: {why}" for m, why in unavailable.items()]
    n_cached = sum(bool(r.get("cached")) for r in rows)
    if n_cached:
        notes.append(f"- {n_cached} of {len(rows)} rows (and their seconds) come from the cache of an earlier run "
                     "(--rerun to time everything in this run)")
    print("\n" + text)
    print("\nFull pipeline vs baselines (means, 512 px):\n" + summary)
    if speed:
        print(f"\nSpeed against G'MIC (mean s/img, {args.threads} thread(s)):\n" + speed)
    if notes:
        print("\n" + "\n".join(notes))
    print(f"\nwall time {elapsed / 60:.1f} min ({len(rows)} rows)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(dict(
        weights=str(shipped), weights_sha1=weights_sha, alpha=alpha, beta=beta, iterations=args.iterations,
        args={k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
        input=INPUT, rows=rows, unavailable=unavailable, table=text, summary=summary, speed_vs_gmic=speed,
        minutes=elapsed / 60), indent=1))
    if args.grid:
        keys = [k for k in args.grid_cases.split(",") if any(r["case"] == k for r in rows)]
        grid_methods = [m for m in args.methods if m != "nps-vgg19_random" and any(r["method"] == m for r in rows)]
        print(f"grid: {make_grid(rows, keys, grid_methods, args.grid)}")


if __name__ == "__main__":
    main()
