"""Many holes in one image: splitting, merging windows, one run per window, per-item windows."""

import numpy as np
import pytest
import torch
from conftest import square_mask, striped_image

from nps_core.holes import Box, group_windows, hole_boxes
from nps_core.inputs import hole_mask
from nps_core.pipeline import fill_window, inpaint, plan_runs
from nps_core.synthesis import SynthesisSettings
from nps_core.window import crop_window, plan_boxes, plan_window, stitch_window

PLAIN = SynthesisSettings.plain()


def brute_force_labels(mask: np.ndarray) -> list:
    """Bounding boxes of 8-connected components by flood fill (the slow, obvious way)."""
    H, W = mask.shape
    seen = np.zeros_like(mask)
    boxes = []
    for y in range(H):
        for x in range(W):
            if mask[y, x] and not seen[y, x]:
                stack, box = [(y, x)], [y, x, y + 1, x + 1]
                seen[y, x] = True
                while stack:
                    cy, cx = stack.pop()
                    box = [min(box[0], cy), min(box[1], cx), max(box[2], cy + 1), max(box[3], cx + 1)]
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            ny, nx = cy + dy, cx + dx
                            if 0 <= ny < H and 0 <= nx < W and mask[ny, nx] and not seen[ny, nx]:
                                seen[ny, nx] = True
                                stack.append((ny, nx))
                boxes.append(Box(*box))
    return sorted(boxes, key=lambda b: (b.top, b.left, b.bottom, b.right))


def test_hole_boxes_match_a_flood_fill_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(60):
        h, w = rng.integers(1, 30, size=2)
        mask = rng.random((h, w)) < rng.uniform(0.05, 0.6)
        assert hole_boxes(mask) == brute_force_labels(mask)


def test_hole_boxes_are_8_connected_and_accept_tensors():
    m = torch.zeros(10, 10)
    m[2, 2] = m[3, 3] = 1          # diagonal neighbours: one hole
    m[2, 6] = m[4, 6] = 1          # a row apart: two holes
    m[8:10, 0:10] = 1              # a bar along the bottom edge
    assert hole_boxes(m) == [Box(2, 2, 4, 4), Box(2, 6, 3, 7), Box(4, 6, 5, 7), Box(8, 0, 10, 10)]
    assert hole_boxes(m > 0.5) == hole_boxes(m.numpy())
    assert hole_boxes(torch.zeros(5, 5)) == []
    u = np.zeros((20, 20), bool)
    u[2:18, 2] = u[2:18, 17] = u[17, 2:18] = True  # a U: the arms join at the bottom
    assert hole_boxes(u) == [Box(2, 2, 18, 18)]


def plan(boxes):
    return plan_boxes(boxes, scale=2.0, min_size=128)


def test_far_holes_keep_their_own_windows_and_near_ones_merge():
    far = [Box(10, 10, 40, 40), Box(900, 900, 930, 940)]
    groups = group_windows(far, plan)
    assert [g for g, _ in groups] == far
    assert all(w.height == 128 for _, w in groups)
    near = [Box(100, 100, 120, 120), Box(100, 200, 120, 220)]  # 128 px windows 100 px apart overlap
    (merged, window), = group_windows(near, plan)
    assert merged == Box(100, 100, 120, 220)
    assert window.height == window.width == 240  # 2 x the union's 120 px side


def test_merging_repeats_until_no_windows_overlap():
    # A and B merge; their bigger window then reaches C, whose own window did not touch A's or B's
    boxes = [Box(500, 500, 520, 520), Box(500, 600, 520, 620), Box(500, 730, 520, 750)]
    a, b, c = (Box(*map(int, w)) for w in plan(np.array([[x.top, x.left, x.bottom, x.right] for x in boxes])))
    assert a.overlaps(b) and not a.overlaps(c) and not b.overlaps(c)
    groups = group_windows(boxes, plan)
    assert len(groups) == 1 and groups[0][0] == Box(500, 500, 520, 750)
    windows = [w for _, w in group_windows([Box(i * 300, 0, i * 300 + 10, 10) for i in range(6)], plan)]
    assert len(windows) == 6
    assert not any(a.overlaps(b) for i, a in enumerate(windows) for b in windows[i + 1:])


def test_many_holes_in_one_area_still_merge_exactly():
    rng = np.random.default_rng(1)
    mask = rng.random((400, 400)) < 0.2  # thousands of specks
    groups = group_windows(hole_boxes(mask), plan)
    windows = [w for _, w in groups]
    assert not any(a.overlaps(b) for i, a in enumerate(windows) for b in windows[i + 1:])
    covered = np.zeros_like(mask)
    for box, _ in groups:
        covered[box.top:box.bottom, box.left:box.right] = True
    assert covered[mask].all()


def test_a_single_hole_plans_the_old_window():
    mask = square_mask(512, 100, 140, 90)
    ((items, window),) = plan_runs(hole_mask(mask, (512, 512), 1), 1, 2.0, 128)
    assert items == (0,) and window == plan_window(mask)


def test_single_hole_result_is_unchanged(content_net, random_texture):
    """The per-window pipeline gives bit for bit what one window around the whole mask gave."""
    img = striped_image(256)
    mask = square_mask(256, 70, 90, 48)
    kwargs = {"alpha": 0.02, "beta": 0.02, "iterations": 3, "synthesis": None}
    res = inpaint(img, mask, content_net=content_net, texture=random_texture, **kwargs)
    window = plan_window(mask)
    filled, _ = fill_window(crop_window(img, window), crop_window(mask, window), content_net, random_texture,
                            kwargs["alpha"], kwargs["beta"], kwargs["iterations"])
    assert torch.equal(res.image, stitch_window(img, mask, filled, window))
    assert len(res.windows) == 1


def test_two_far_holes_get_two_windows_and_known_pixels_stay(content_net, random_texture):
    img = striped_image(512)
    mask = torch.zeros(1, 1, 512, 512)
    mask[..., 20:50, 30:60] = 1
    mask[..., 440:480, 450:500] = 1
    events = []
    res = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=2, synthesis=PLAIN,
                  callback=lambda e: events.append((e.window, e.windows, e.fraction())))
    assert [r.window.size for r in res.windows] == [128, 128]  # not one ~500 px window
    assert len(res.levels) == 2
    known = mask.expand_as(img) < 0.5
    assert torch.equal(res.image[known], img[known])
    assert not torch.equal(res.image[~known], img[~known])
    assert {e[0] for e in events} == {0, 1} and all(e[1] == 2 for e in events)
    fractions = [e[2] for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # each window alone gives the same pixels as the whole run
    for run in res.windows:
        alone = torch.zeros_like(mask)
        t, left, s = run.window.tops[0], run.window.lefts[0], run.window.size
        box = (..., slice(max(t, 0), t + s), slice(max(left, 0), left + s))
        alone[box] = mask[box]
        single = inpaint(img, alone, content_net=content_net, texture=random_texture, iterations=2, synthesis=PLAIN)
        hole = alone.expand_as(img) > 0.5
        assert torch.equal(single.image[hole], res.image[hole])


def test_batch_items_with_holes_elsewhere_get_their_own_windows(content_net, random_texture):
    img = striped_image(384, batch=3)
    mask = torch.zeros(3, 1, 384, 384)
    mask[0, :, 20:50, 20:50] = 1
    mask[1, :, 300:340, 300:330] = 1
    mask[2, :, 20:50, 20:50] = 1     # the same place as item 0: one shared run
    runs = plan_runs(hole_mask(mask, (384, 384), 3), 3, 2.0, 128)
    assert [items for items, _ in runs] == [(0, 2), (1,)]
    assert runs[0][1].tops == (runs[0][1].tops[0],) * 2
    res = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=1, synthesis=PLAIN)
    known = mask.expand_as(img) < 0.5
    assert torch.equal(res.image[known], img[known])
    assert [r.items for r in res.windows] == [(0, 2), (1,)]


def test_one_mask_for_a_batch_shares_the_windows(content_net, random_texture):
    img = striped_image(256, batch=2, seed=3)
    mask = torch.zeros(1, 256, 256)
    mask[:, 10:40, 10:40] = 1
    mask[:, 200:230, 200:230] = 1
    res = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=1, synthesis=PLAIN)
    assert [r.items for r in res.windows] == [(0, 1), (0, 1)]
    assert res.image.shape == (2, 3, 256, 256)


def test_uint8_image_stays_uint8_and_known_pixels_exact(content_net, random_texture):
    img = (striped_image(256) * 255).round().to(torch.uint8)
    mask = square_mask(256, 100, 100, 40)
    res = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=1, synthesis=PLAIN)
    assert res.image.dtype == torch.uint8 and res.image.shape == img.shape
    known = mask.expand_as(img) < 0.5
    assert torch.equal(res.image[known], img[known])
    as_float = inpaint(img.float() / 255, mask, content_net=content_net, texture=random_texture, iterations=1,
                       synthesis=PLAIN)
    assert (res.image.float() / 255 - as_float.image).abs().max() <= 0.5 / 255 + 1e-6
    with pytest.raises(Exception, match="dtype"):
        inpaint(img.to(torch.int32), mask, content_net=content_net, texture=random_texture)


def test_cancel_in_a_later_window_stops_within_an_iteration(content_net, random_texture):
    img = striped_image(512)
    mask = torch.zeros(1, 1, 512, 512)
    mask[..., 20:50, 30:60] = 1
    mask[..., 440:480, 450:500] = 1
    seen = []

    class Stop(Exception):
        pass

    def cancel(event):
        seen.append((event.window, event.iteration))
        if event.window == 1:
            raise Stop

    with pytest.raises(Stop):
        inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=5, synthesis=PLAIN,
                callback=cancel)
    assert seen[-1] == (1, 1)
