"""Results of a folder job: one `FileResult` per file, the summary line and the JSON report."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("done", "copied", "skipped", "failed", "interrupted")


@dataclass
class FileResult:
    """rel: path relative to IMAGES and OUT; status: one of STATUSES (done = inpainted and written,
    copied = no hole, written unchanged, skipped = its result existed before this run, failed = see
    error, interrupted = stopped by Ctrl-C, nothing written); seconds: wall time of this file; cpu_seconds:
    CPU time of the worker's process for it (all its threads; less sensitive to a loaded machine)."""

    rel: str
    image: str
    out: str
    status: str
    seconds: float = 0.0
    error: str | None = None
    mask: str | None = None
    cpu_seconds: float = 0.0

    @classmethod
    def from_row(cls, row) -> FileResult:
        return cls(rel=str(row["rel"]), image=str(row["image"]), out=str(row["out"]), status=str(row["status"]),
                   seconds=float(row["seconds"]), error=str(row["error"]) or None, mask=str(row["mask"]) or None,
                   cpu_seconds=float(row["cpu_seconds"]))

    def to_row(self) -> dict:
        """Flat dict of plain values ('' for None), the Ray engine's output row."""
        return {"rel": self.rel, "image": self.image, "out": self.out, "status": self.status,
                "seconds": float(self.seconds), "error": self.error or "", "mask": self.mask or "",
                "cpu_seconds": float(self.cpu_seconds)}


@dataclass
class BatchReport:
    """Collects FileResults of one run; `summary()` is the closing line, `write()` the JSON report."""

    engine: str
    images: str
    out: str
    options: dict = field(default_factory=dict)
    results: list = field(default_factory=list)
    ignored: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0
    interrupted: bool = False
    engine_info: dict = field(default_factory=dict)

    def add(self, result: FileResult) -> None:
        self.results.append(result)

    def counts(self) -> dict:
        counts = {s: 0 for s in STATUSES}
        for r in self.results:
            counts[r.status] += 1
        return counts

    def finish(self, interrupted: bool = False) -> None:
        self.seconds = time.perf_counter() - self.started
        self.interrupted = interrupted

    def seconds_per_done_file(self) -> float | None:
        done = [r.seconds for r in self.results if r.status == "done"]
        return sum(done) / len(done) if done else None

    def summary(self) -> str:
        c = self.counts()
        text = (f"done {c['done']}, skipped {c['skipped']} (finished before), failed {c['failed']}, "
                f"copied {c['copied']} (no hole), {self.seconds:.1f} s")
        per = self.seconds_per_done_file()
        if per is not None:
            text += f" ({per:.1f} s per inpainted file)"
        if self.interrupted:
            text += f"; interrupted: {c['interrupted']} file(s) not started or stopped, rerun to continue"
        return text

    def to_dict(self) -> dict:
        return {
            "engine": self.engine, "engine_info": self.engine_info, "images": self.images, "out": self.out,
            "seconds": self.seconds, "interrupted": self.interrupted, "counts": self.counts(),
            "seconds_per_done_file": self.seconds_per_done_file(), "options": self.options,
            "ignored_non_images": self.ignored, "files": [asdict(r) for r in self.results],
        }

    def write(self, path) -> None:
        """The report as JSON at path, atomically (a temp file in the same folder, then renamed)."""
        from ..image_io import write_text_atomic

        write_text_atomic(Path(path), json.dumps(self.to_dict(), indent=2))
