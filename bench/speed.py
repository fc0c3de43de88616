"""Speed and memory benchmark: the product (nps_core) against the plain reference (bench/reference.py).

    .venv/bin/python bench/speed.py --config 512            # 512x512, 256x256 centre hole, 3 levels x 100 it
    .venv/bin/python bench/speed.py --config 2048           # 2048x2048, 1024 hole, 5 levels (product only)
    .venv/bin/python bench/speed.py --config scaling        # hole 128..1024 in images 256..2048 (product)
    .venv/bin/python bench/speed.py --config all
    options: --backbone NAME --iterations N (smoke runs) --device cpu|cuda --threads 2
             --precision fp32|bf16|fp16|auto (product's feature extractor) --ways (512: one run per
             speed-up switched off) --reference-scaling (also run the reference in scaling mode)

How it measures. Each side (reference, product) runs in its own worker process (spawned, so peak
RSS = that process's ru_maxrss; on CUDA peak = torch.cuda.max_memory_allocated). Both workers build
the same seeded inputs, the same content-network fill at 128 px (random_content_net(0) unless
--content-net shipped) and run one untimed warm-up evaluation. The parent then runs the levels
interleaved: reference level 0, product level 0, reference level 1, ... each side starting every
finer level from its own up-sampled result, so machine-load drifts hit both sides alike. After the
last level both final window images are re-scored with the reference's exhaustive texture loss
(whole-window features, all sources, fresh matches) in the reference worker: "texture (exhaustive)".
Prints a markdown table; writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONFIGS = {
    "512": dict(size=512, hole=256),
    "2048": dict(size=2048, hole=1024),
}
SCALING_SIZES = (256, 512, 1024, 2048)
# Above this many reference similarity elements (layer 1, finest level) the reference is not run:
# whole-window features of a 2048 window x 500 evaluations on 2 CPU cores take hours, and the full
# query-by-source matrix alone would be tens of GB.
REFERENCE_MAX_SIM_ELEMENTS = 1 << 30
EXHAUSTIVE_MAX_SIZE = 1024  # exhaustive re-scoring of final images is skipped above this window side


def test_image(size: int, seed: int = 0):
    """Deterministic natural-ish image [1,3,size,size]: gratings, blobs and grain at several scales."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    img = torch.zeros(3, size, size)
    for _ in range(6):
        theta = float(torch.rand(1, generator=g)) * math.pi
        freq = 4 + 60 * float(torch.rand(1, generator=g))
        phase = float(torch.rand(1, generator=g)) * 6.28
        wave = torch.sin(2 * math.pi * freq * (xx * math.cos(theta) + yy * math.sin(theta)) + phase)
        img += 0.12 * wave * torch.rand(3, 1, 1, generator=g)
    for cells in (4, 16, 64):  # smooth colour blobs and grain
        noise = torch.rand(1, 3, cells, cells, generator=g)
        img += 0.25 * F.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False)[0]
    img = img - img.mean(dim=(1, 2), keepdim=True) + 0.5
    return img.clamp(0, 1)[None].contiguous()


def centre_mask(size: int, hole: int):
    import torch

    m = torch.zeros(1, 1, size, size)
    a = (size - hole) // 2
    m[..., a : a + hole, a : a + hole] = 1.0
    return m


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss_now_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


# ----------------------------------------------------------------------------------------- worker
class _Side:
    """State of one side inside its worker process."""

    def __init__(self, side, spec, opts):
        import torch

        from nps_core import defaults
        from nps_core.content import load_content_net, random_content_net
        from nps_core.pipeline import content_fill
        from nps_core.pyramid import downsample_mask, level_sizes, resize_image
        from nps_core.texture import make_texture_settings
        from nps_core.window import crop_window, plan_window

        torch.set_num_threads(opts["threads"])
        torch.manual_seed(0)
        self.torch = torch
        self.side = side
        self.device = torch.device(opts["device"])
        self.alpha = defaults.ALPHA if opts["alpha"] is None else opts["alpha"]
        self.beta = defaults.BETA if opts["beta"] is None else opts["beta"]
        self.iterations = opts["iterations"]
        overrides = opts.get("product", {}) if side == "product" else {}
        kwargs = {k: v for k, v in overrides.items()
                  if k in ("refresh_every", "max_sources", "crop", "adaptive_refresh", "exhaustive_every")}
        if opts.get("precision") and side == "product":
            kwargs["precision"] = opts["precision"]
        self.texture = make_texture_settings(opts["backbone"], device=self.device, **kwargs)
        for k in ("chunk_elements",):
            if k in overrides:
                setattr(self.texture, k, overrides[k])
        self.opt_kwargs = {k: overrides[k] for k in ("tolerance_change",) if k in overrides}
        image = test_image(spec["size"], opts["seed"])
        mask = centre_mask(spec["size"], spec["hole"])
        window = plan_window(mask, scale=defaults.WINDOW_SCALE, min_size=defaults.MIN_WINDOW)
        self.win_image = crop_window(image, window).to(self.device)
        self.win_mask = crop_window(mask, window).to(self.device)
        self.sizes = level_sizes(self.win_image.shape[-1])
        self.levels = [(resize_image(self.win_image, s, mask=self.win_mask), downsample_mask(self.win_mask, s))
                       for s in self.sizes]
        net = (load_content_net(device=self.device) if opts["content_net"] == "shipped"
               else random_content_net(0).to(self.device))
        self.sync()
        t0 = time.perf_counter()
        with torch.no_grad():
            self.init0 = content_fill(net, *self.levels[0])
        self.sync()
        self.content_seconds = time.perf_counter() - t0
        self.current = None
        self.window = window.describe() if hasattr(window, "describe") else str(window)
        self.warm_up()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self.setup_rss = _rss_now_bytes()

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def run_level(self, level, image, mask, init, iterations):
        if self.side == "reference":
            from reference import optimize_level

            res, info = optimize_level(image, mask, init, self.texture.extractor, self.texture.layer_weights,
                                       self.alpha, self.beta, iterations)
            return res, info["evaluations"], info["losses"]
        from nps_core.optimize import optimize_scale

        res, rep = optimize_scale(image, mask, init, self.texture, alpha=self.alpha, beta=self.beta,
                                  iterations=iterations, level=level, levels=len(self.sizes), **self.opt_kwargs)
        return res, rep.iterations, rep.losses

    def warm_up(self):
        image, mask = self.levels[0]
        self.run_level(0, image, mask, self.init0, 2)
        self.sync()

    def level(self, i):
        from nps_core.pyramid import resize_image

        image, mask = self.levels[i]
        init = self.init0 if i == 0 else resize_image(self.current, self.sizes[i])
        self.sync()
        t0, c0 = time.perf_counter(), time.process_time()
        self.current, evals, losses = self.run_level(i, image, mask, init, self.iterations)
        self.sync()
        return {"size": self.sizes[i], "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - c0, "evaluations": evals, "losses": losses}

    def peak(self):
        out = {"peak_rss_bytes": _peak_rss_bytes(), "setup_rss_bytes": self.setup_rss}
        if self.device.type == "cuda":
            out["peak_cuda_bytes"] = int(self.torch.cuda.max_memory_allocated(self.device))
        return out

    def exhaustive(self, images):
        """Reference texture loss of final window images (finest level)."""
        from reference import texture_loss

        _, mask = self.levels[-1]
        out = []
        with self.torch.no_grad():
            for img in images:
                x = self.torch.as_tensor(img).to(self.device)
                out.append(float(texture_loss(self.texture.extractor, self.texture.layer_weights, x, mask)))
        return out


def _worker(conn, side, spec, opts):
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT))
    try:
        state = _Side(side, spec, opts)
        conn.send(("ok", {"sizes": state.sizes, "content_seconds": state.content_seconds,
                          "window": state.window, "texture": state.texture.describe()}))
        while True:
            cmd, arg = conn.recv()
            if cmd == "level":
                conn.send(("ok", state.level(arg)))
            elif cmd == "final":
                conn.send(("ok", {"image": state.current.detach().cpu().numpy(), **state.peak()}))
            elif cmd == "exhaustive":
                conn.send(("ok", state.exhaustive(arg)))
            elif cmd == "stop":
                conn.send(("ok", None))
                return
    except BaseException as exc:  # report, then die
        import traceback

        conn.send(("error", f"{side}: {exc!r}\n{traceback.format_exc()}"))


class Worker:
    def __init__(self, side, spec, opts):
        ctx = mp.get_context("spawn")
        self.side = side
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, side, spec, opts), daemon=True)
        self.proc.start()
        self.info = self._get()

    def _get(self):
        status, payload = self.conn.recv()
        if status != "ok":
            raise RuntimeError(payload)
        return payload

    def call(self, cmd, arg=None):
        self.conn.send((cmd, arg))
        return self._get()

    def close(self):
        try:
            self.call("stop")
        except Exception:
            pass
        self.proc.join(timeout=30)


# ------------------------------------------------------------------------------------------ parent
def reference_feasible(spec, backbone, iterations) -> tuple[bool, str]:
    size, hole = spec["size"], spec["hole"]
    stride = 4  # first texture layer of every shipped backbone
    q = (hole // stride) ** 2
    s = (size // stride) ** 2 - (hole // stride + 2) ** 2
    if q * s > REFERENCE_MAX_SIM_ELEMENTS:
        return False, (f"reference not run: finest level has {q} query x {s} source patches "
                       f"({q * s * 4 / 2**30:.0f} GiB similarity matrix in fp32) and whole-window "
                       f"features of {size}x{size} at every one of {iterations} evaluations per level")
    return True, ""


def run_config(name, spec, opts, with_reference=True, label=None):
    sides = ["reference", "product"] if with_reference else ["product"]
    note = ""
    if with_reference:
        ok, note = reference_feasible(spec, opts["backbone"], opts["iterations"])
        if not ok:
            sides = ["product"]
    print(f"[{label or name}] starting {', '.join(sides)} ({spec['size']}px, hole {spec['hole']}px)", file=sys.stderr)
    workers = {s: Worker(s, spec, opts) for s in sides}
    try:
        sizes = workers["product"].info["sizes"]
        rows = {s: [] for s in sides}
        for i in range(len(sizes)):
            for s in sides:  # interleaved: reference then product at every level
                r = workers[s].call("level", i)
                rows[s].append(r)
                print(f"  {s:9s} level {i} {r['size']}px: {r['seconds']:.1f} s, {r['evaluations']} ev, "
                      f"texture {r['losses'].get('texture', float('nan')):.5g}", file=sys.stderr)
        finals = {s: workers[s].call("final") for s in sides}
        exhaustive = {}
        scorer = workers.get("reference")
        if scorer is None and spec["size"] <= EXHAUSTIVE_MAX_SIZE:
            scorer = workers["product"]  # product-only runs: score after its peak was taken
        if scorer is not None:
            vals = scorer.call("exhaustive", [finals[s]["image"] for s in sides])
            exhaustive = dict(zip(sides, vals, strict=False))
    finally:
        for w in workers.values():
            w.close()
    result = {"config": label or name, "size": spec["size"], "hole": spec["hole"], "levels": sizes,
              "iterations": opts["iterations"], "backbone": opts["backbone"], "device": opts["device"],
              "product_options": opts.get("product", {}), "precision": opts.get("precision"),
              "window": workers["product"].info["window"], "texture": workers["product"].info["texture"],
              "note": note, "sides": {}}
    for s in sides:
        total = sum(r["seconds"] for r in rows[s]) + workers[s].info["content_seconds"]
        cpu_total = sum(r["cpu_seconds"] for r in rows[s])
        peak = {k: v for k, v in finals[s].items() if k != "image"}
        result["sides"][s] = {"levels": rows[s], "content_seconds": workers[s].info["content_seconds"],
                              "total_seconds": total, "cpu_seconds_levels": cpu_total, **peak,
                              "final_losses": rows[s][-1]["losses"],
                              "texture_exhaustive": exhaustive.get(s)}
    if len(sides) == 2:
        ref, prod = result["sides"]["reference"], result["sides"]["product"]
        result["ratios"] = {
            "time_total": prod["total_seconds"] / ref["total_seconds"],
            "time_levels": [p["seconds"] / r["seconds"] for p, r in zip(prod["levels"], ref["levels"], strict=False)],
            "cpu_time_levels": prod["cpu_seconds_levels"] / ref["cpu_seconds_levels"],
            "peak_rss": prod["peak_rss_bytes"] / ref["peak_rss_bytes"],
            "texture_exhaustive": prod["texture_exhaustive"] / ref["texture_exhaustive"],
            "texture_reported": prod["final_losses"]["texture"] / ref["final_losses"]["texture"],
        }
        if "peak_cuda_bytes" in prod:
            result["ratios"]["peak_cuda"] = prod["peak_cuda_bytes"] / max(1, ref["peak_cuda_bytes"])
    return result


def _gib(b):
    return f"{b / 2**30:.2f} GiB"


def markdown(results) -> str:
    lines = ["| config | side | per level (s) | total (s) | CPU s (levels) | peak RSS | peak CUDA | content | "
             "texture | tv | texture (exhaustive) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for s, d in r["sides"].items():
            per = " / ".join(f"{lv['seconds']:.1f}" for lv in d["levels"])
            fl = d["final_losses"]
            ex = d.get("texture_exhaustive")
            lines.append(
                f"| {r['config']} | {s} | {per} | {d['total_seconds']:.1f} | {d['cpu_seconds_levels']:.1f} | "
                f"{_gib(d['peak_rss_bytes'])} | "
                f"{_gib(d['peak_cuda_bytes']) if 'peak_cuda_bytes' in d else '-'} | {fl.get('content', 0):.4g} | "
                f"{fl.get('texture', float('nan')):.4g} | {fl.get('tv', 0):.4g} | "
                f"{'-' if ex is None else f'{ex:.4g}'} |")
        if "ratios" in r:
            q = r["ratios"]
            per = " / ".join(f"{x:.3f}" for x in q["time_levels"])
            lines.append(
                f"| {r['config']} | **product/reference** | {per} | **{q['time_total']:.3f}** "
                f"(speed-up {1 / q['time_total']:.1f}x) | {q['cpu_time_levels']:.3f} | {q['peak_rss']:.2f} | "
                f"{q.get('peak_cuda', float('nan')):.2f} | "
                f" | {q['texture_reported']:.3f} | | **{q['texture_exhaustive']:.3f}** |")
        if r.get("note"):
            lines.append(f"| {r['config']} | note | {r['note']} | | | | | | | | |")
    return "\n".join(lines)


def main(argv=None):
    from nps_core import defaults

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="512", choices=["512", "2048", "scaling", "all"])
    p.add_argument("--backbone", default=defaults.BACKBONE)
    p.add_argument("--iterations", type=int, default=defaults.ITERATIONS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default=None, help="product feature-extractor precision (default: product's)")
    p.add_argument("--content-net", default="random", choices=["random", "shipped"])
    p.add_argument("--alpha", type=float, default=None)
    p.add_argument("--beta", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--refresh-every", type=int, default=None)
    p.add_argument("--max-sources", type=int, default=None)
    p.add_argument("--tolerance-change", type=float, default=None)
    p.add_argument("--no-crop", action="store_true")
    p.add_argument("--no-adaptive-refresh", action="store_true")
    p.add_argument("--exhaustive-every", type=int, default=None)
    p.add_argument("--omp-wait-policy", default="PASSIVE",
                   help="OMP_WAIT_POLICY for the workers (PASSIVE: on a shared 2-core machine spinning "
                        "OpenMP threads cost 3-4x more CPU; '' keeps the environment's)")
    p.add_argument("--no-reference", action="store_true")
    p.add_argument("--reference-scaling", action="store_true", help="run the reference in scaling mode too")
    p.add_argument("--ways", action="store_true",
                   help="512 config: extra product runs with one speed-up switched off at a time")
    p.add_argument("--out", default=None, help="JSON path (default bench/results/speed-<config>-<time>.json)")
    a = p.parse_args(argv)

    product = {}
    if a.refresh_every is not None:
        product["refresh_every"] = a.refresh_every
    if a.max_sources is not None:
        product["max_sources"] = a.max_sources
    if a.tolerance_change is not None:
        product["tolerance_change"] = a.tolerance_change
    if a.no_crop:
        product["crop"] = False
    if a.exhaustive_every is not None:
        product["exhaustive_every"] = a.exhaustive_every
    if a.no_adaptive_refresh:
        product["adaptive_refresh"] = False
    if a.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = a.omp_wait_policy  # inherited by the spawned workers
    opts = dict(backbone=a.backbone, iterations=a.iterations, device=a.device, threads=a.threads,
                precision=a.precision, content_net=a.content_net, alpha=a.alpha, beta=a.beta, seed=a.seed,
                product=product)
    results = []
    if a.config in ("512", "all"):
        results.append(run_config("512", CONFIGS["512"], opts, not a.no_reference))
        if a.ways:
            for label, change in WAYS:
                o = dict(opts, product=dict(product, **change.get("product", {})))
                if "precision" in change:
                    o["precision"] = change["precision"]
                results.append(run_config("512", CONFIGS["512"], o, False, label=f"512 {label}"))
    if a.config in ("2048", "all"):
        results.append(run_config("2048", CONFIGS["2048"], opts, not a.no_reference))
    if a.config in ("scaling", "all"):
        for size in SCALING_SIZES:
            spec = dict(size=size, hole=size // 2)
            results.append(run_config(f"scale-{size}", spec, opts, a.reference_scaling))
    meta = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "argv": sys.argv[1:], "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "threads": a.threads, "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        import torch

        meta["torch"] = torch.__version__
        if a.device.startswith("cuda"):
            meta["gpu"] = torch.cuda.get_device_name(0)
    except Exception:
        pass
    table = markdown(results)
    if a.config in ("scaling", "all"):
        table += "\n\n" + scaling_table([r for r in results if r["config"].startswith("scale-")])
    print(table)
    stamp = time.strftime('%Y%m%d-%H%M%S')
    out = Path(a.out) if a.out else ROOT / "bench" / "results" / f"speed-{a.config}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results, "table": table}, indent=1))
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


def scaling_table(results) -> str:
    lines = ["| image | hole px | product total (s) | s per 1k hole px | CPU s (levels) | CPU s per 1k hole px | "
             "finest level (s) | peak RSS |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        d = r["sides"]["product"]
        holes = r["hole"] ** 2
        cpu = d["cpu_seconds_levels"]
        lines.append(f"| {r['size']} | {holes} | {d['total_seconds']:.1f} | {1000 * d['total_seconds'] / holes:.3f} | "
                     f"{cpu:.1f} | {1000 * cpu / holes:.3f} | {d['levels'][-1]['seconds']:.1f} | "
                     f"{_gib(d['peak_rss_bytes'])} |")
    return "\n".join(lines)


# One product speed-up switched off per run (512 config, --ways): label, overrides.
WAYS = [
    ("refresh_every=1", {"product": {"refresh_every": 1}}),
    ("no crop", {"product": {"crop": False}}),
    ("max_sources=all", {"product": {"max_sources": 0}}),
    ("bf16 extractor+matching", {"precision": "bf16"}),
    ("adaptive_refresh off", {"product": {"adaptive_refresh": False}}),
    ("exhaustive_every=1", {"product": {"exhaustive_every": 1}}),
    ("no early stop", {"product": {"tolerance_change": 0.0}}),
]


if __name__ == "__main__":
    sys.exit(main())
