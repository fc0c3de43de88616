"""Planning a folder job: which images, which mask for each, where each result goes, what a rerun skips.

Nothing is read beyond directory listings here (images are opened by the worker), so planning
thousands of files is quick and a bad file is only found, and reported, when it is processed.
"""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NPSInputError

GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Job:
    """One file of a batch.

    image: the input image path; mask: its mask file, or None = the image's own transparency;
    out: where the result goes; rel: the POSIX path relative to the input root (also under OUT);
    problem: why it cannot run (e.g. no mask found), reported as a failure without reading it;
    content: its rough fill (`--content-image` folder) or None = the content network.
    """

    image: str
    mask: str | None
    out: str
    rel: str
    problem: str | None = None
    content: str | None = None

    def to_row(self) -> dict:
        """A flat dict of strings (the Ray dataset's row); '' stands for None."""
        return {"image": self.image, "mask": self.mask or "", "out": self.out, "rel": self.rel,
                "problem": self.problem or "", "content": self.content or ""}

    @classmethod
    def from_row(cls, row) -> Job:
        return cls(image=str(row["image"]), mask=str(row["mask"]) or None, out=str(row["out"]),
                   rel=str(row["rel"]), problem=str(row["problem"]) or None, content=str(row["content"]) or None)


@dataclass
class BatchPlan:
    """todo: jobs to run (including those with a `problem`, which fail at once); finished: jobs whose
    result already exists (skipped: a result is only ever written complete, so it is finished);
    ignored: files under the input that are not images; images_root / out_root: resolved folders."""

    images_root: Path
    out_root: Path
    todo: list = field(default_factory=list)
    finished: list = field(default_factory=list)
    ignored: list = field(default_factory=list)

    @property
    def jobs(self) -> list:
        return self.todo + self.finished


def image_extensions() -> frozenset:
    """Lower-case file extensions (with the dot) of every format Pillow can open here."""
    from PIL import Image

    Image.init()
    return frozenset(ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def is_hidden(rel: Path) -> bool:
    """Dot files and folders (editors' and this package's own partial files) are never jobs."""
    return any(part.startswith(".") for part in rel.parts)


def glob_root(pattern: str) -> Path:
    """The folder a glob pattern's matches are taken relative to: its leading parts without wildcards."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if any(c in part for c in GLOB_CHARS):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def list_images(source: str) -> tuple[Path, list, list]:
    """IMAGES (a folder, searched recursively, or a glob) -> (root, image paths, ignored paths).

    Paths are sorted by their path relative to root; hidden files and folders are left out.
    """
    exts = image_extensions()
    if any(c in source for c in GLOB_CHARS) and not Path(source).exists():
        root = glob_root(source)
        found = [Path(p) for p in glob.glob(source, recursive=True)]
        found = [p for p in found if p.is_file()]
    else:
        root = Path(source)
        if not root.exists():
            raise NPSInputError(
                f"IMAGES {source!r} does not exist; give a folder of images or a glob like 'photos/**/*.jpg'."
            )
        if not root.is_dir():
            raise NPSInputError(
                f"IMAGES {source!r} is a file; give a folder of images or a glob (for one image use `inpaint`)."
            )
        found = [p for p in root.rglob("*") if p.is_file()]
    found = [p for p in found if not is_hidden(p.relative_to(root))]
    images = sorted((p for p in found if p.suffix.lower() in exts), key=lambda p: p.relative_to(root).as_posix())
    ignored = sorted(p for p in found if p.suffix.lower() not in exts)
    return root, images, ignored


def overlaps(a: Path, b: Path) -> bool:
    """True when resolved folders a and b are the same or one lies inside the other."""
    a, b = a.resolve(), b.resolve()
    return a == b or a in b.parents or b in a.parents


class MirrorFolder:
    """Files at the images' relative paths under a folder, with any image extension (masks, rough fills).

    option / what: the option and the kind of file, for messages ("--masks", "mask").
    """

    def __init__(self, root: str, option: str = "--masks", what: str = "mask"):
        self.root, self.option, self.what = Path(root), option, what
        if not self.root.is_dir():
            raise NPSInputError(f"{option} {root!r} is not a folder; give the folder that mirrors IMAGES with "
                                f"one {what} per image.")
        exts = image_extensions()
        self.by_stem = defaultdict(list)
        for p in self.root.rglob("*"):
            if p.is_file() and p.suffix.lower() in exts and not is_hidden(p.relative_to(self.root)):
                rel = p.relative_to(self.root)
                self.by_stem[(rel.parent.as_posix(), rel.stem)].append(p)

    def find(self, rel: Path) -> tuple[str | None, str | None]:
        """Relative image path -> (its file, None), or (None, why none could be chosen). The same name
        wins; otherwise exactly one file with the same stem and an image extension."""
        exact = self.root / rel
        if exact.is_file():
            return str(exact), None
        found = sorted(self.by_stem.get((rel.parent.as_posix(), rel.stem), []))
        if len(found) == 1:
            return str(found[0]), None
        if not found:
            return None, (f"no {self.what} for {rel.as_posix()} under {self.option} {self.root} (looked for "
                          f"{(rel.parent / rel.stem).as_posix()}.<any image extension>)")
        names = ", ".join(p.name for p in found)
        return None, (f"several {self.what}s could belong to {rel.as_posix()} under {self.option} {self.root}: "
                      f"{names}; keep one")


def check_output_formats(targets: list, jpeg_quality) -> None:
    """Every result's extension must name a format image_io writes, JPEG only with a quality."""
    from ..image_io import FORMATS, LOSSLESS_EXTENSIONS

    unwritable = sorted({t.suffix.lower() or "(none)" for t in targets if t.suffix.lower() not in FORMATS})
    jpegs = sum(FORMATS.get(t.suffix.lower()) == "JPEG" for t in targets)
    if unwritable:
        raise NPSInputError(
            f"results keep their inputs' names, but {', '.join(unwritable)} files cannot be written "
            f"({LOSSLESS_EXTENSIONS} and .jpg can); pass --as-png to write every result as .png."
        )
    if jpegs and jpeg_quality is None:
        raise NPSInputError(
            f"{jpegs} result(s) would be JPEGs, which are lossy (even the known pixels change); pass "
            f"--as-png for lossless .png results, or --jpeg-quality 95 to accept the loss."
        )


def plan_batch(images: str, out: str, masks: str | None = None, mask: str | None = None,
               as_png: bool = False, jpeg_quality: int | None = None, contents: str | None = None) -> BatchPlan:
    """List IMAGES, pair masks, decide each output path (OUT / relative path) and what is finished.

    masks: a folder mirroring IMAGES; mask: one mask file for all; neither: each image's own
    transparency is its hole. as_png: results get the extension .png (else they keep the input's,
    and a JPEG result needs `jpeg_quality`). Raises NPSInputError (before any compute) when there is
    nothing to do, OUT overlaps an input folder (results must never land on, or among, the inputs),
    two inputs would share a result, or a result's format cannot be written. contents: a folder of
    rough fills (`inpaint --content-image`) at the images' relative paths.
    """
    if masks and mask:
        raise NPSInputError("give either --masks FOLDER (one mask per image) or --mask FILE (one for all), not both.")
    root, files, ignored = list_images(images)
    if not files:
        raise NPSInputError(f"no images found in {images!r} (any format Pillow reads: .png, .jpg, .tif, ...).")
    out_root = Path(out)
    if out_root.exists() and not out_root.is_dir():
        raise NPSInputError(f"OUT {out!r} is a file; give a folder for the results.")
    recursive = not any(c in images for c in GLOB_CHARS) or "**" in images
    if overlaps(root, out_root) and (recursive or out_root.resolve() == root.resolve()):
        raise NPSInputError(
            f"OUT {out!r} overlaps IMAGES {images!r}: a rerun would take results for inputs. Give an "
            f"output folder outside the input tree."
        )
    pairs = None
    if masks:
        if overlaps(Path(masks), out_root):
            raise NPSInputError(f"OUT {out!r} overlaps --masks {masks!r}; give an output folder outside it.")
        pairs = MirrorFolder(masks)
    elif mask and not Path(mask).is_file():
        raise NPSInputError(f"--mask {mask!r} is not a file; give one mask image (white = fill) for every image.")
    fills = None
    if contents:
        if Path(contents).is_file():
            raise NPSInputError(f"--content-image {contents!r} is a file; in a batch it is the folder of rough "
                                f"fills at the images' relative paths.")
        fills = MirrorFolder(contents, "--content-image", "rough fill")
    inputs = {p.resolve() for p in files}
    plan = BatchPlan(images_root=root.resolve(), out_root=out_root.resolve(), ignored=[str(p) for p in ignored])
    targets = {}
    for path in files:
        rel = path.relative_to(root)
        target = out_root / (rel.with_suffix(".png") if as_png else rel)
        if target in targets:
            raise NPSInputError(f"{targets[target]} and {path} would both write {target}; rename one of them.")
        targets[target] = path
        if target.resolve() in inputs:
            raise NPSInputError(
                f"the result for {path} would overwrite an input; give an output folder outside IMAGES."
            )
        mask_path, problem = (pairs.find(rel) if pairs is not None else (mask, None))
        content, missing = fills.find(rel) if fills is not None else (None, None)
        job = Job(image=str(path), mask=mask_path, out=str(target), rel=rel.as_posix(),
                  problem=problem or missing, content=content)
        (plan.finished if os.path.exists(target) else plan.todo).append(job)
    check_output_formats([Path(j.out) for j in plan.todo], jpeg_quality)
    return plan
