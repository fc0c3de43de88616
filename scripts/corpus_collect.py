"""Collect photographs shipped in Debian packages into a training corpus with a fixed split.

Usage (called by scripts/make_corpus.sh):
  python scripts/corpus_collect.py --out /root/nps-data/photos --packages pkg1 pkg2 ... \
      --exclude-file scripts/corpus_exclude.txt [--contact-sheet sheet.jpg] \
      [--include-file scripts/corpus_include.txt --train-only-packages pkgA ... \
       --train-only-min-side 256]

For each installed package, image files (jpg/png/webp) listed by `dpkg -L` are taken; for
wallpaper bundles that ship one picture at many resolutions (`.../NAME/contents/images*/WxH.ext`)
only the largest file per NAME is kept. Files whose path contains any substring from the
exclude file (drawings, renders, logos, ...) are dropped, as are images whose shorter side is
below --min-side and exact duplicates (by content hash). The split is fixed by the SHA-1 of
the file's bytes: the first byte < 26 (about 10%) -> val/, else train/.
A package named in the include file (lines `package<TAB>path-substring`) contributes only the
files matching one of its listed substrings (a reviewed allow-list for packages that are mostly
game art). Packages in --train-only-packages always go to train/ (val/ is the fixed held-out
split) and use --train-only-min-side instead of --min-side. List them after the other packages
so that content-hash de-duplication leaves the other packages' files untouched.
Writes <out>/train/, <out>/val/ and <out>/manifest.tsv (package, source file, split, size, sha1).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
BUNDLE = re.compile(r"^(?P<name>.*/[^/]+)/contents/images[^/]*/(?P<w>\d+)x(?P<h>\d+)\.\w+$")
FORBIDDEN_PACKAGES = {"mate-backgrounds", "gnome-backgrounds"}


def package_images(pkg: str) -> list[str]:
    out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"warning: package {pkg} is not installed; skipped", file=sys.stderr)
        return []
    files = [f for f in out.stdout.splitlines() if f.lower().endswith(SUFFIXES) and Path(f).is_file()]
    best: dict[str, tuple[int, str]] = {}
    plain = []
    for f in files:
        if "/screenshot." in f or "/icons/" in f:
            continue
        m = BUNDLE.match(f)
        if m:
            key = m.group("name") + ("/dark" if "images_dark" in f else "")
            area = int(m.group("w")) * int(m.group("h"))
            if key not in best or area > best[key][0]:
                best[key] = (area, f)
        else:
            plain.append(f)
    return sorted(plain + [f for _, f in best.values()])


def read_list(path: str) -> list[str]:
    """Non-empty, non-comment lines of a review list (whitespace at the ends stripped)."""
    return [line.strip() for line in Path(path).read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def read_includes(path: str | None) -> dict[str, list[str]]:
    """Include file -> {package: [path substrings]}; lines are `package<TAB>path-substring`."""
    includes: dict[str, list[str]] = {}
    for line in read_list(path) if path else []:
        pkg, _, sub = line.partition("\t")
        if not sub.strip():
            raise SystemExit(f"include line without a tab-separated path: {line!r}")
        includes.setdefault(pkg.strip(), []).append(sub.strip())
    return includes


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--packages", nargs="+", required=True)
    ap.add_argument("--exclude-file", required=True)
    ap.add_argument("--min-side", type=int, default=400)
    ap.add_argument("--contact-sheet", default=None)
    ap.add_argument("--include-file", default=None,
                    help="package<TAB>path-substring lines; a listed package keeps only these files")
    ap.add_argument("--train-only-packages", nargs="*", default=[],
                    help="packages whose files always go to train/ (never val/)")
    ap.add_argument("--train-only-min-side", type=int, default=None,
                    help="--min-side for the train-only packages (default: --min-side)")
    args = ap.parse_args()
    bad = (set(args.packages) | set(args.train_only_packages)) & FORBIDDEN_PACKAGES
    if bad:
        raise SystemExit(f"refusing evaluation-only packages {sorted(bad)}")
    missing = set(args.train_only_packages) - set(args.packages)
    if missing:
        raise SystemExit(f"--train-only-packages not in --packages: {sorted(missing)}")
    excludes = read_list(args.exclude_file)
    includes = read_includes(args.include_file)
    train_only = set(args.train_only_packages)
    out = Path(args.out)
    for split in ("train", "val"):
        shutil.rmtree(out / split, ignore_errors=True)
        (out / split).mkdir(parents=True)
    seen: set[str] = set()
    matched: set[tuple[str, str]] = set()
    rows = []
    for pkg in args.packages:
        min_side = args.min_side
        if pkg in train_only and args.train_only_min_side is not None:
            min_side = args.train_only_min_side
        for f in package_images(pkg):
            if any(e in f for e in excludes):
                continue
            if pkg in includes:
                hits = [i for i in includes[pkg] if i in f]
                if not hits:
                    continue
                matched.update((pkg, i) for i in hits)
            data = Path(f).read_bytes()
            sha = hashlib.sha1(data).hexdigest()
            if sha in seen:
                continue
            try:
                with Image.open(f) as im:
                    w, h = im.size
            except Exception as exc:  # noqa: BLE001
                print(f"warning: unreadable {f}: {exc}", file=sys.stderr)
                continue
            if min(w, h) < min_side:
                continue
            seen.add(sha)
            split = "val" if int(sha[:2], 16) < 26 and pkg not in train_only else "train"
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f.strip("/").replace("/", "__"))
            dest = out / split / f"{pkg}__{sha[:8]}__{stem[-80:]}"
            dest.write_bytes(data)
            rows.append((pkg, f, split, f"{w}x{h}", sha, dest.name))
    for pkg, subs in includes.items():
        for i in subs:
            if pkg in args.packages and (pkg, i) not in matched:
                print(f"warning: include entry matched no file: {pkg}\t{i}", file=sys.stderr)
    with open(out / "manifest.tsv", "w") as fh:
        fh.write("package\tsource\tsplit\tsize\tsha1\tfile\n")
        for r in rows:
            fh.write("\t".join(r) + "\n")
    n_val = sum(r[2] == "val" for r in rows)
    print(f"{len(rows)} photos: {len(rows) - n_val} train, {n_val} val -> {out}")
    if args.contact_sheet:
        contact_sheet([out / r[2] / r[5] for r in rows], Path(args.contact_sheet))
    return 0


def contact_sheet(paths: list[Path], dest: Path, thumb: int = 160, cols: int = 10) -> None:
    """Grid of thumbnails labelled with their index (for reviewing what was collected)."""
    from PIL import ImageDraw

    rows = (len(paths) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * thumb, rows * thumb), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            im.draft("RGB", (thumb * 2, thumb * 2))
            im = im.convert("RGB")
            im.thumbnail((thumb, thumb))
            x, y = (i % cols) * thumb, (i // cols) * thumb
            sheet.paste(im, (x, y))
            draw.text((x + 3, y + 3), str(i), fill=(255, 0, 0))
    sheet.save(dest, quality=85)
    with open(dest.with_suffix(".txt"), "w") as fh:
        fh.writelines(f"{i}\t{p}\n" for i, p in enumerate(paths))


if __name__ == "__main__":
    sys.exit(main())
