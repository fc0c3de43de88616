"""The fixed evaluation set of the quality benchmark: natural photos the content network never saw,
plus three seed-deterministic mask families.

Images come only from files installed offline by package managers (no downloads at run time):
scikit-image's `skimage/data`, scikit-learn's `sklearn/datasets/images`, matplotlib's
`mpl-data/sample_data` (pip, see bench/requirements.txt) and Debian's `mate-backgrounds`
(`apt-get install mate-backgrounds`; its `nature/` photos). These are reserved for evaluation and are
never content-network training data; `check_against_corpus()` verifies that none of them (by SHA-1
or by Debian package) is in the training corpus manifest(s) /root/nps-data/*/manifest.tsv.

Each photo is centre-cropped to a square and resized (Lanczos) to 512 px ("main" set) or 1024 px
("large" set, holes scaled by 2). Masks are [S,S] bool, True = hole:

- centre:  the paper's setting, a centred square of side S/2 (256 in 512): exactly 25 % of the image.
- rect:    1-3 axis-aligned rectangles, sides 48..160 px (x S/512), all inside one random 256x256
           (x S/512) box, so the hole's bounding box is at most half the image like the paper's.
- strokes: 3-6 free-form brush strokes (random walks of 3-6 segments, 20..70 px long, brush 12..28 px
           wide, x S/512) inside one random 256x256 (x S/512) box.

Masks are drawn from numpy's PCG64 seeded by (BASE_SEED, family, image name): the same on every run
and every machine. `python bench/eval_set.py [--sheet PATH]` prints the set and checks the corpus.

No method ever sees the answer: `Case.input_image` is the photo with every hole pixel overwritten
by uniform noise (`hide_hole`, numpy PCG64 seeded by `noise_seed(case key, size)`). Every method
is given that input; only the metrics look at `Case.image` (the truth).
"""

from __future__ import annotations

import argparse
import functools
import glob
import hashlib
import os
import subprocess
import sys
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

BASE_SEED = 20170721          # CVPR 2017; any fixed number
FAMILIES = ("centre", "rect", "strokes")
MAIN_SIZE = 512
LARGE_SIZE = 1024


# --------------------------------------------------------------------------------------------- sources

def _site(package: str) -> Path | None:
    try:
        import importlib.util

        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@dataclass(frozen=True)
class Source:
    name: str           # short id used in tables and seeds
    provider: str       # "pip:scikit-image", "deb:mate-backgrounds", ...
    relpath: str        # path inside the provider (package dir or absolute for Debian)
    note: str

    def path(self) -> Path:
        kind, pkg = self.provider.split(":", 1)
        if kind == "deb":
            return Path(self.relpath)
        module = {"scikit-image": "skimage", "scikit-learn": "sklearn", "matplotlib": "matplotlib"}[pkg]
        base = _site(module)
        if base is None:
            raise FileNotFoundError(f"{pkg} is not installed: pip install -r bench/requirements.txt")
        return base / self.relpath

    def version(self) -> str:
        kind, pkg = self.provider.split(":", 1)
        if kind == "pip":
            try:
                return metadata.version(pkg)
            except metadata.PackageNotFoundError:
                return "not installed"
        try:
            return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                                  text=True, check=False).stdout.strip() or "not installed"
        except OSError:
            return "unknown"


MATE = "/usr/share/backgrounds/mate/nature/"

# 512-px set, in benchmark order (the default run uses the first N).
MAIN_SOURCES = (
    Source("astronaut", "pip:scikit-image", "data/astronaut.png", "NASA portrait of Eileen Collins, 512x512"),
    Source("ladybird", "deb:mate-backgrounds", MATE + "LadyBird.jpg", "ladybird on grass, flowers, 2560x1600"),
    Source("china", "pip:scikit-learn", "datasets/images/china.jpg", "Summer Palace pagoda, trees, 640x427"),
    Source("coffee", "pip:scikit-image", "data/coffee.png", "cup of coffee on a table, 600x400"),
    Source("grace_hopper", "pip:matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "portrait, 512x600"),
    Source("dune", "deb:mate-backgrounds", MATE + "Dune.jpg", "dune grass, sea and sky, 1680x1050"),
    Source("flower", "pip:scikit-learn", "datasets/images/flower.jpg", "dahlia and leaves, 640x427"),
    Source("rocket", "pip:scikit-image", "data/rocket.jpg", "rocket on launch pad at dusk, 640x427"),
    Source("motorcycle", "pip:scikit-image", "data/motorcycle_left.png", "motorcycle in a garage, 741x500"),
    Source("garden", "deb:mate-backgrounds", MATE + "Garden.jpg", "red flower, blurred garden, 2560x1600"),
    Source("raindrops", "deb:mate-backgrounds", MATE + "RainDrops.jpg", "leaves with rain drops, 1920x1200"),
    Source("storm", "deb:mate-backgrounds", MATE + "Storm.jpg", "storm clouds over a plain, 1920x1280"),
)

# 1024-px set (holes twice as large).
LARGE_SOURCES = (
    Source("yellowflower_1k", "deb:mate-backgrounds", MATE + "YellowFlower.jpg", "yellow flower, 2560x1600"),
    Source("twowings_1k", "deb:mate-backgrounds", MATE + "TwoWings.jpg", "dandelion seeds on orange, 2560x1600"),
    Source("wood_1k", "deb:mate-backgrounds", MATE + "Wood.jpg", "wooden planks, 2560x1920"),
)

EXCLUDED = {
    "skimage chelsea.png": "451x300: needs a 1.7x up-scale to 512, which would make the truth blurry",
    "skimage camera/moon/coins/...": "grey-scale or microscopy/astronomy, not natural colour photos",
    "skimage grass/gravel/brick": "grey-scale texture samples",
    "skimage hubble_deep_field/retina": "astronomy / medical images",
    "mate abstract/ and desktop/": "renders and drawings",
    "gnome-backgrounds (Debian 43.1)": "all renders/illustrations (adwaita, blobs, ...), no photographs",
}


def file_sha1(path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_image(source: Source, size: int) -> np.ndarray:
    """Centre square crop, Lanczos resize to size; float32 [size,size,3] in 0..1."""
    from PIL import Image

    im = Image.open(source.path()).convert("RGB")
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    im = im.crop((left, top, left + s, top + s))
    if s != size:
        im = im.resize((size, size), Image.LANCZOS)
    return np.asarray(im, dtype=np.float32) / 255.0


# --------------------------------------------------------------------------------------------- masks

def mask_seed(family: str, name: str, base: int = BASE_SEED) -> int:
    return (base * 1_000_003 + zlib.crc32(f"{family}/{name}".encode())) % (2 ** 63)


def _box(rng, size, box):
    """Random top-left of a box x box square inside a size x size image with a small margin."""
    margin = min(size // 32, (size - box) // 2)
    top = int(rng.integers(margin, size - box - margin + 1))
    left = int(rng.integers(margin, size - box - margin + 1))
    return top, left


def centre_mask(size: int) -> np.ndarray:
    m = np.zeros((size, size), dtype=bool)
    a = size // 4
    m[a:a + size // 2, a:a + size // 2] = True
    return m


def rect_mask(size: int, seed: int) -> np.ndarray:
    f = size / 512.0
    rng = np.random.default_rng(seed)
    box = int(round(256 * f))
    top, left = _box(rng, size, box)
    m = np.zeros((size, size), dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        h = int(rng.integers(int(48 * f), int(160 * f) + 1))
        w = int(rng.integers(int(48 * f), int(160 * f) + 1))
        y = top + int(rng.integers(0, box - h + 1))
        x = left + int(rng.integers(0, box - w + 1))
        m[y:y + h, x:x + w] = True
    return m


def _stamp_segment(m, p0, p1, radius):
    """Draw a thick line (discs along the segment) into bool array m."""
    H, W = m.shape
    length = float(np.hypot(*(np.subtract(p1, p0))))
    steps = max(1, int(np.ceil(length / max(1.0, radius / 2))))
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disc = (yy ** 2 + xx ** 2) <= radius ** 2
    for t in np.linspace(0.0, 1.0, steps + 1):
        cy = int(round(p0[0] + t * (p1[0] - p0[0])))
        cx = int(round(p0[1] + t * (p1[1] - p0[1])))
        y0, y1 = max(0, cy - r), min(H, cy + r + 1)
        x0, x1 = max(0, cx - r), min(W, cx + r + 1)
        m[y0:y1, x0:x1] |= disc[y0 - (cy - r):y1 - (cy - r), x0 - (cx - r):x1 - (cx - r)]


def stroke_mask(size: int, seed: int) -> np.ndarray:
    f = size / 512.0
    rng = np.random.default_rng(seed)
    box = int(round(256 * f))
    top, left = _box(rng, size, box)
    canvas = np.zeros((box, box), dtype=bool)
    for _ in range(int(rng.integers(3, 7))):
        radius = rng.uniform(6 * f, 14 * f)
        p = (rng.uniform(0, box), rng.uniform(0, box))
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(3, 7))):
            angle += rng.uniform(-1.2, 1.2)
            length = rng.uniform(20 * f, 70 * f)
            q = (float(np.clip(p[0] + length * np.sin(angle), 0, box - 1)),
                 float(np.clip(p[1] + length * np.cos(angle), 0, box - 1)))
            _stamp_segment(canvas, p, q, radius)
            p = q
    m = np.zeros((size, size), dtype=bool)
    m[top:top + box, left:left + box] = canvas
    return m


def make_mask(family: str, size: int, seed: int) -> np.ndarray:
    """[size,size] bool mask (True = hole) of a family; deterministic in (family, size, seed)."""
    if family == "centre":
        return centre_mask(size)
    if family == "rect":
        return rect_mask(size, seed)
    if family == "strokes":
        return stroke_mask(size, seed)
    raise ValueError(f"unknown mask family {family!r}; use one of {FAMILIES}")


# --------------------------------------------------------------------------------------------- hiding the hole

def noise_seed(*parts, base: int = BASE_SEED) -> int:
    """A fixed seed for the noise that hides a hole, from any labels (case key, size, index, ...)."""
    return mask_seed("noise", "/".join(str(p) for p in parts), base)


def hide_hole(image, mask, seed: int) -> np.ndarray:
    """A copy of `image` ([H,W,C] or [H,W]; float 0..1 or uint8) whose hole pixels (`mask` [H,W],
    True / > 0.5 = hole) hold uniform noise (floats: [0, 1); uint8: 0..255) from numpy's PCG64 seeded
    by `seed`; known pixels are untouched. Deterministic in (image shape, mask, seed). Every
    benchmark hands methods this, never the truth: a method that peeks at hole pixels sees noise."""
    image = np.asarray(image)
    hole = np.asarray(mask) > 0.5
    if hole.shape != image.shape[:2]:
        raise ValueError(f"mask {hole.shape} must be [H,W] of the image {image.shape[:2]}")
    rng = np.random.Generator(np.random.PCG64(seed))
    shape = (int(hole.sum()),) + image.shape[2:]
    if image.dtype == np.uint8:
        noise = rng.integers(0, 256, size=shape, dtype=np.uint8)
    elif image.dtype.kind == "f":
        noise = rng.random(shape, dtype=np.float64).astype(image.dtype)
    else:
        raise TypeError(f"hide_hole: image dtype {image.dtype} (use float 0..1 or uint8)")
    out = image.copy()
    out[hole] = noise
    return out


# --------------------------------------------------------------------------------------------- the set

@dataclass
class Case:
    name: str            # image name
    family: str
    size: int
    image: np.ndarray    # [S,S,3] float32 0..1 (the truth)
    mask: np.ndarray     # [S,S] bool, True = hole
    source: Source

    @property
    def key(self) -> str:
        return f"{self.name}/{self.family}"

    @functools.cached_property
    def input_image(self) -> np.ndarray:
        """What a method is given: the image with its hole overwritten by seeded noise (`hide_hole`)."""
        return hide_hole(self.image, self.mask, noise_seed(self.key, self.size))


def cache_dir() -> Path:
    return Path(os.environ.get("NPS_BENCH_CACHE", Path.home() / ".cache" / "nps-inpaint-bench"))


def cached_image(source: Source, size: int) -> np.ndarray:
    """load_image with an on-disk cache (outside git) keyed by file hash and size."""
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    sha = file_sha1(source.path())
    f = d / f"{source.name}_{size}_{sha[:12]}.npy"
    if f.exists():
        return np.load(f)
    img = load_image(source, size)
    np.save(f, img)
    return img


def build_cases(n_main: int | None = None, n_large: int = 0, families=FAMILIES, large_families=("centre",)):
    """The evaluation cases: first n_main main-set images x families, first n_large large images x large_families."""
    cases = []
    for src in MAIN_SOURCES[: n_main if n_main is not None else len(MAIN_SOURCES)]:
        img = cached_image(src, MAIN_SIZE)
        for fam in families:
            cases.append(Case(src.name, fam, MAIN_SIZE, img, make_mask(fam, MAIN_SIZE, mask_seed(fam, src.name)), src))
    for src in LARGE_SOURCES[:n_large]:
        img = cached_image(src, LARGE_SIZE)
        for fam in large_families:
            mask = make_mask(fam, LARGE_SIZE, mask_seed(fam, src.name))
            cases.append(Case(src.name, fam, LARGE_SIZE, img, mask, src))
    return cases


# --------------------------------------------------------------------------------------------- corpus check

def corpus_manifests():
    return sorted(glob.glob("/root/nps-data/*/manifest.tsv"))


def check_against_corpus(sources=MAIN_SOURCES + LARGE_SOURCES, thumbs: bool = True) -> list[str]:
    """Lines describing the check; raises RuntimeError if an evaluation image is in the training corpus.

    Compares (1) SHA-1 of the source files with the manifests' sha1 column, (2) Debian package names
    with the manifests' package column, (3) optionally 16x16 grey thumbnails (near-duplicate check
    against every corpus image file next to the manifest; max abs difference < 4/255 counts as a hit).
    """
    from PIL import Image

    lines, problems = [], []
    manifests = corpus_manifests()
    if not manifests:
        return ["no training manifest found under /root/nps-data/*/manifest.tsv: corpus check skipped"]
    corpus_sha, corpus_pkgs, corpus_files = set(), set(), []
    for man in manifests:
        rows = Path(man).read_text().splitlines()
        head = rows[0].split("\t")
        for row in rows[1:]:
            rec = dict(zip(head, row.split("\t"), strict=False))
            corpus_sha.add(rec.get("sha1", ""))
            corpus_pkgs.add(rec.get("package", ""))
            sub = Path(man).parent / rec.get("split", "") / rec.get("file", "")
            if sub.exists():
                corpus_files.append(sub)
    eval_sha = {s.name: file_sha1(s.path()) for s in sources}
    for s in sources:
        if eval_sha[s.name] in corpus_sha:
            problems.append(f"{s.name}: SHA-1 {eval_sha[s.name]} is in the training corpus")
        kind, pkg = s.provider.split(":", 1)
        if kind == "deb" and pkg in corpus_pkgs:
            problems.append(f"{s.name}: package {pkg} is a training-corpus package")
    lines.append(f"corpus: {len(corpus_sha)} files from packages {sorted(corpus_pkgs)} ({', '.join(manifests)})")
    lines.append(f"SHA-1 overlap with the {len(sources)} evaluation files: "
                 f"{sum(v in corpus_sha for v in eval_sha.values())}")
    if thumbs and corpus_files:
        def thumb(p):
            im = Image.open(p).convert("L")
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            im.draft("L", (64, 64))
            return np.asarray(im.resize((16, 16), Image.BILINEAR), dtype=np.float32)

        ct = [thumb(p) for p in corpus_files]
        best = 255.0
        for s in sources:
            t = thumb(s.path())
            d = min(float(np.abs(t - c).max()) for c in ct)
            best = min(best, d)
            if d < 4.0:
                problems.append(f"{s.name}: near-duplicate thumbnail of a corpus image (max diff {d:.1f}/255)")
        lines.append(f"thumbnail near-duplicate check against {len(ct)} corpus image files: smallest max-diff "
                     f"{best:.1f}/255 (a duplicate would be < 4)")
    if problems:
        raise RuntimeError("evaluation images overlap the training corpus:\n" + "\n".join(problems))
    lines.append("OK: no evaluation image is in the training corpus")
    return lines


def describe_sources(sources=MAIN_SOURCES + LARGE_SOURCES) -> list[str]:
    rows = ["| id | provider (version) | file | SHA-1 | content |", "|---|---|---|---|---|"]
    for s in sources:
        try:
            sha = file_sha1(s.path())[:12]
        except FileNotFoundError:
            sha = "missing"
        rows.append(f"| {s.name} | {s.provider} ({s.version()}) | `{s.relpath}` | {sha} | {s.note} |")
    return rows


def contact_sheet(path, size=128):
    """PNG of every case's image with its three masks (hole in magenta)."""
    from PIL import Image

    cases = build_cases(None, len(LARGE_SOURCES), FAMILIES, FAMILIES)
    names = list(dict.fromkeys(c.name for c in cases))
    sheet = Image.new("RGB", (size * len(FAMILIES), size * len(names)), "white")
    for c in cases:
        img = c.image.copy()
        img[c.mask] = (1.0, 0.0, 1.0)
        tile = Image.fromarray((img * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
        sheet.paste(tile, (FAMILIES.index(c.family) * size, names.index(c.name) * size))
    sheet.save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sheet", help="write a contact sheet PNG of all images and masks")
    args = ap.parse_args(argv)
    print("\n".join(describe_sources()))
    print()
    for fam in FAMILIES:
        for size, srcs in ((MAIN_SIZE, MAIN_SOURCES), (LARGE_SIZE, LARGE_SOURCES)):
            cov = [make_mask(fam, size, mask_seed(fam, s.name)).mean() for s in srcs]
            print(f"{fam:8s} {size:5d}px hole coverage: mean {np.mean(cov) * 100:.1f} %, "
                  f"min {np.min(cov) * 100:.1f} %, max {np.max(cov) * 100:.1f} %")
    print()
    print("\n".join(check_against_corpus()))
    if args.sheet:
        contact_sheet(args.sheet)
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    sys.exit(main())
