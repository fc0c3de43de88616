"""Connected holes of a mask and the groups of holes that share a context window.

`hole_boxes` splits a hole mask into its 8-connected holes (bounding boxes); `group_windows` plans
a window per hole and merges holes whose windows would overlap, replanning the merged group's
window until no two windows overlap. Each group is then filled on its own (nps_core.pipeline), so
two small holes in opposite corners of a photo cost two small windows, not one nearly the size of
the image.

Labelling works on horizontal runs of hole pixels (numpy, no scipy): runs in neighbouring rows that
touch (8-connectivity: overlapping or diagonal) are joined by a vectorised union-find. Time and
memory grow with the number of runs, not with the image (besides one pass over the mask's rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

_ROW_CHUNK_ELEMENTS = 1 << 24  # mask elements turned into run boundaries at once


@dataclass(frozen=True)
class Box:
    """A rectangle in image pixels: rows top..bottom-1, columns left..right-1."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def union(self, other: Box) -> Box:
        return Box(min(self.top, other.top), min(self.left, other.left),
                   max(self.bottom, other.bottom), max(self.right, other.right))

    def overlaps(self, other: Box) -> bool:
        """True when the two rectangles share at least one pixel."""
        return (self.top < other.bottom and other.top < self.bottom
                and self.left < other.right and other.left < self.right)


def _runs(mask: np.ndarray):
    """bool [H,W] -> (rows, starts, ends) int64 arrays of its horizontal runs (ends exclusive), sorted
    by row then start."""
    W = mask.shape[1]
    rows_with = np.flatnonzero(mask.any(axis=1))
    out_r, out_s, out_e = [], [], []
    step = max(1, _ROW_CHUNK_ELEMENTS // max(1, W))
    for i in range(0, rows_with.size, step):
        rows = rows_with[i : i + step]
        sub = mask[rows].astype(np.int8)
        edges = np.diff(sub, axis=1, prepend=0, append=0)        # [r, W+1]: +1 run start, -1 run end
        r_s, c_s = np.nonzero(edges == 1)
        _, c_e = np.nonzero(edges == -1)
        out_r.append(rows[r_s])
        out_s.append(c_s)
        out_e.append(c_e)
    if not out_r:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (np.concatenate(out_r).astype(np.int64), np.concatenate(out_s).astype(np.int64),
            np.concatenate(out_e).astype(np.int64))


def _touching_runs(rows, starts, ends, width: int):
    """Pairs (a, b) of run indices where run b's row is run a's row + 1 and the runs touch
    (8-connected: they overlap or meet diagonally)."""
    key = width + 2
    start_keys = rows * key + starts
    end_keys = rows * key + ends
    # run a in row r-1 touches run b in row r when end_a >= start_b and start_a <= end_b; within a
    # row the runs are sorted and disjoint, so those a form one contiguous index range.
    lo = np.searchsorted(end_keys, (rows - 1) * key + starts, side="left")
    hi = np.searchsorted(start_keys, (rows - 1) * key + ends, side="right")
    count = np.clip(hi - lo, 0, None)
    b = np.repeat(np.arange(rows.size), count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    a = np.repeat(lo, count) + offsets
    return a, b


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union-find over n nodes joined by edges (a, b): label [n] = smallest node of its component."""
    parent = np.arange(n)
    while True:
        pa, pb = parent[a], parent[b]
        if np.array_equal(pa, pb):
            return parent
        low = np.minimum(pa, pb)
        np.minimum.at(parent, pa, low)
        np.minimum.at(parent, pb, low)
        while True:  # pointer jumping: every node points at its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def hole_boxes(mask) -> list:
    """Bounding boxes of the 8-connected holes of one mask, sorted by (top, left).

    mask: [H,W] bool / 0-1 tensor or numpy array (True or > 0.5 = hole), any device (read once on
    the CPU). Returns a list of Box; empty for an empty mask.
    """
    if isinstance(mask, torch.Tensor):
        m = mask.detach()
        m = (m if m.dtype == torch.bool else m > 0.5).cpu().numpy()
    else:
        m = np.asarray(mask)
        m = m if m.dtype == bool else m > 0.5
    if m.ndim != 2:
        raise ValueError(f"hole_boxes needs one [H,W] mask, got shape {m.shape}.")
    rows, starts, ends = _runs(m)
    if rows.size == 0:
        return []
    a, b = _touching_runs(rows, starts, ends, m.shape[1])
    label = _components(rows.size, a, b)
    roots, inverse = np.unique(label, return_inverse=True)
    k = roots.size
    top = np.full(k, np.iinfo(np.int64).max)
    left = np.full(k, np.iinfo(np.int64).max)
    bottom = np.zeros(k, dtype=np.int64)
    right = np.zeros(k, dtype=np.int64)
    np.minimum.at(top, inverse, rows)
    np.minimum.at(left, inverse, starts)
    np.maximum.at(bottom, inverse, rows + 1)
    np.maximum.at(right, inverse, ends)
    boxes = [Box(int(t), int(lf), int(bt), int(r)) for t, lf, bt, r in zip(top, left, bottom, right, strict=True)]
    return sorted(boxes, key=lambda box: (box.top, box.left, box.bottom, box.right))


_MAX_PAIRS = 1 << 22  # candidate window pairs tested at once; above it, shared-point chaining first


def _overlap_edges(win: np.ndarray):
    """Edges (a, b) between overlapping windows win [G,4] (top, left, bottom, right), every edge a
    real overlap. Windows are bucketed on a grid as fine as the smallest window; candidate pairs
    sharing a cell are tested exactly. When that would test too many pairs (thousands of holes in
    one area), the windows that contain the same grid point are chained instead (they all overlap
    one another); the caller repeats until no edge is left, so the remaining overlaps come later."""
    cell = max(1, int((win[:, 2:] - win[:, :2]).min()))
    r0, c0 = np.floor_divide(win[:, 0], cell), np.floor_divide(win[:, 1], cell)
    r1, c1 = np.floor_divide(win[:, 2] - 1, cell), np.floor_divide(win[:, 3] - 1, cell)
    nr, nc = r1 - r0 + 1, c1 - c0 + 1
    per = nr * nc
    owner = np.repeat(np.arange(win.shape[0]), per)
    local = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    rows = np.repeat(r0, per) + local // np.repeat(nc, per)
    cols = np.repeat(c0, per) + local % np.repeat(nc, per)
    cell_id = (rows - rows.min()) * (int(cols.max() - cols.min()) + 1) + (cols - cols.min())
    order = np.lexsort((owner, cell_id))
    cell_id, owner = cell_id[order], owner[order]
    first = np.flatnonzero(np.r_[True, cell_id[1:] != cell_id[:-1]])
    size = np.diff(np.r_[first, cell_id.size])
    if int((size * (size - 1) // 2).sum()) > _MAX_PAIRS:
        # windows covering the top-left corner of a cell all contain that grid point
        corner = (rows[order] * cell >= win[owner, 0]) & (cols[order] * cell >= win[owner, 1])
        keep = np.flatnonzero(corner)
        same = cell_id[keep][1:] == cell_id[keep][:-1]
        if same.any():
            return owner[keep][:-1][same], owner[keep][1:][same]
    group_end = np.repeat(first + size, size)
    count = group_end - np.arange(cell_id.size) - 1
    a_pos = np.repeat(np.arange(cell_id.size), count)
    b_pos = a_pos + 1 + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    a, b = owner[a_pos], owner[b_pos]
    wa, wb = win[a], win[b]
    real = (wa[:, 0] < wb[:, 2]) & (wb[:, 0] < wa[:, 2]) & (wa[:, 1] < wb[:, 3]) & (wb[:, 1] < wa[:, 3])
    return a[real], b[real]


def group_windows(boxes: list, plan) -> list:
    """Merge holes whose windows would overlap, until no two windows overlap.

    boxes: the holes' Boxes; plan(boxes int64 [G,4] of (top, left, bottom, right)) -> the windows
    int64 [G,4] for groups with those bounding boxes. Returns [(group bounding Box, window Box)]
    sorted by the window's (top, left). A merged group's window is planned around the union of its
    holes and may then reach another window: merging repeats until it is stable.
    """
    if not boxes:
        return []
    groups = np.array([[b.top, b.left, b.bottom, b.right] for b in boxes], dtype=np.int64)
    while True:
        win = np.asarray(plan(groups), dtype=np.int64)
        a, b = _overlap_edges(win)
        if a.size == 0:
            break
        label = _components(groups.shape[0], a, b)
        _, inverse = np.unique(label, return_inverse=True)
        merged = np.zeros((inverse.max() + 1, 4), dtype=np.int64)
        merged[:, :2] = np.iinfo(np.int64).max
        np.minimum.at(merged[:, 0], inverse, groups[:, 0])
        np.minimum.at(merged[:, 1], inverse, groups[:, 1])
        np.maximum.at(merged[:, 2], inverse, groups[:, 2])
        np.maximum.at(merged[:, 3], inverse, groups[:, 3])
        groups = merged
    order = np.lexsort((win[:, 1], win[:, 0]))
    return [(Box(*map(int, groups[i])), Box(*map(int, win[i]))) for i in order]
