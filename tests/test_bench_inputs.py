"""Benchmarks never show a method the answer: hidden-hole inputs, the G'MIC / Resynthesizer wrappers.

CPU only and fast; the gmic / resynthesizer tests skip when the program / package is missing.
"""

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import eval_set  # noqa: E402
import quality  # noqa: E402


def _textured(size=48, seed=0):
    """Smooth stripes plus a little noise, [size,size,3] float32 0..1: easy for patch-based fills."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = np.stack([0.5 + 0.35 * np.sin(xx / 2.0), 0.5 + 0.35 * np.cos((xx + yy) / 3.0), yy / size], axis=-1)
    img += 0.03 * np.random.default_rng(seed).random(img.shape, dtype=np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def _case(size=48):
    img = _textured(size)
    mask = np.zeros((size, size), bool)
    mask[size // 3: size // 3 + 12, size // 3: size // 3 + 12] = True
    src = eval_set.MAIN_SOURCES[0]
    return eval_set.Case("synthetic", "rect", size, img, mask, src)


# --------------------------------------------------------------------------------------------- hide_hole

def test_hidden_input_differs_from_truth_only_inside_the_hole():
    case = _case()
    shown = case.input_image
    assert shown.shape == case.image.shape and shown.dtype == case.image.dtype
    assert np.array_equal(shown[~case.mask], case.image[~case.mask])          # known pixels exact
    # every hole value replaced (noise equal to the truth to float precision is ~impossible)
    assert np.all(shown[case.mask] != case.image[case.mask])
    assert shown[case.mask].min() >= 0.0 and shown[case.mask].max() <= 1.0
    # uniform noise: nothing like the truth, mean near 0.5
    assert abs(float(shown[case.mask].mean()) - 0.5) < 0.1
    assert np.array_equal(case.image, _textured())                              # truth untouched


def test_hidden_input_is_deterministic_per_case():
    a, b = _case(), _case()
    assert np.array_equal(a.input_image, b.input_image)
    seed = eval_set.noise_seed(a.key, a.size)
    assert np.array_equal(eval_set.hide_hole(a.image, a.mask, seed), a.input_image)
    assert seed == eval_set.noise_seed("synthetic/rect", 48)
    other = eval_set.hide_hole(a.image, a.mask, eval_set.noise_seed("other/rect", 48))
    assert not np.array_equal(other[a.mask], a.input_image[a.mask])


def test_hide_hole_uint8_grey_and_bad_inputs():
    img = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 3)
    mask = np.zeros((8, 8), bool)
    mask[2:5, 3:7] = True
    out = eval_set.hide_hole(img, mask, 7)
    assert out.dtype == np.uint8 and np.array_equal(out[~mask], img[~mask])
    assert not np.array_equal(out[mask], img[mask])
    with pytest.raises(ValueError):
        eval_set.hide_hole(img, mask[:4], 7)
    with pytest.raises(TypeError):
        eval_set.hide_hole(img.astype(np.int32), mask, 7)


# --------------------------------------------------------------------------------------------- quality.py

def _args(**kw):
    return argparse.Namespace(rerun=False, threads=1, **kw)


def test_quality_methods_get_the_hidden_input(monkeypatch, tmp_path):
    monkeypatch.setenv("NPS_BENCH_CACHE", str(tmp_path))
    seen = {}

    def fake_classic(method, img, mask, threads=1):
        seen[method] = img.copy()
        return quality._composite(np.full_like(img, 0.5), img, mask)

    class FakeRunner:
        def __init__(self, path):
            pass

        def fill(self, img, mask, *a):
            seen["nps"] = img.copy()
            return quality._composite(np.full_like(img, 0.5), img, mask)

    monkeypatch.setattr(quality, "classic_fill", fake_classic)
    monkeypatch.setattr(quality, "classic_available", lambda m: None)
    monkeypatch.setattr(quality, "backbone_available", lambda b: None)
    monkeypatch.setattr(quality, "NPSRunner", FakeRunner)
    case = _case()
    jobs = [(case, "telea", dict(kind="classic", method="telea")),
            (case, "nps-x", dict(kind="nps", backbone="x", alpha=0.1, beta=0.1, iterations=1))]
    rows, unavailable = quality.run_jobs(jobs, _args(), None, "sha", log=lambda s: None)
    assert not unavailable and len(rows) == 2
    for name in ("telea", "nps"):
        assert np.array_equal(seen[name], case.input_image), name
        assert not np.any(seen[name][case.mask] == case.image[case.mask]), name
    assert all(r["input"] == quality.INPUT == "noise-hole" for r in rows)
    # metrics are against the truth: a flat 0.5 fill is far from it
    assert all(r["l1"] > 1.0 for r in rows)


def test_cache_key_depends_on_the_input(monkeypatch):
    case = _case()
    spec = dict(kind="classic", method="telea")
    key = quality.job_key(case, spec, "sha")
    monkeypatch.setattr(quality, "INPUT", "truth")
    assert quality.job_key(case, spec, "sha") != key


def test_new_peers_are_classic_and_default():
    assert {"gmic", "resynthesizer"} <= set(quality.CLASSIC)
    assert {"gmic", "resynthesizer"} <= set(quality.DEFAULT_METHODS)


def test_speed_ratio_against_gmic():
    rows = [dict(family="centre", size=512, image=i, method=m, seconds=s)
            for i in ("a", "b") for m, s in (("gmic", 2.0), ("nps-efficientnet_lite0", 30.0))]
    text = quality.speed_vs_gmic(rows, ("centre",), (512,))
    assert "15x" in text and "nps-efficientnet_lite0" in text
    assert quality.speed_vs_gmic([r for r in rows if r["method"] != "gmic"], ("centre",), (512,)) == ""


# --------------------------------------------------------------------------------------------- other benches

def test_eval_content_net_hides_windows():
    import eval_content_net

    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 3, 16, 16, generator=g)
    masks = torch.zeros(3, 1, 16, 16)
    masks[:, :, 4:10, 5:12] = 1
    a = eval_content_net.hide_windows(images, masks, 2024)
    assert torch.equal(a, eval_content_net.hide_windows(images, masks, 2024))
    hole = masks.expand_as(images) > 0.5
    assert torch.equal(a[~hole], images[~hole])
    assert not torch.any(a[hole] == images[hole])
    assert not torch.equal(a[0][hole[0]], a[1][hole[1]])                         # one seed per window


def test_calibrate_gives_the_pipeline_the_hidden_input(monkeypatch):
    import calibrate

    import nps_core.pipeline as pipeline

    case = _case()
    seen = {}

    class R:
        pass

    def fake_inpaint(x, m, **kw):
        seen["x"] = x.clone()
        r = R()
        r.image = x * (1 - m) + 0.5 * m
        return r

    monkeypatch.setattr(pipeline, "inpaint", fake_inpaint)
    res, _ = calibrate.run(("synthetic/rect", case.image, case.mask), None, 0.0, 0.0, 0)
    given = seen["x"][0].permute(1, 2, 0).numpy()
    assert np.array_equal(given[~case.mask], case.image[~case.mask])
    assert not np.any(given[case.mask] == case.image[case.mask])
    assert res["l1"] > 1.0


def test_training_validation_input_ignores_hole_pixels():
    """The trainer validates on windows at the network's own size: prepare_input then only mean-fills
    (no resize), so the validation input does not depend on the truth's hole pixels."""
    from nps_core.content import prepare_input

    g = torch.Generator().manual_seed(1)
    img = torch.rand(2, 3, 32, 32, generator=g)
    m = torch.zeros(2, 1, 32, 32)
    m[..., 8:20, 10:24] = 1
    other = torch.where(m > 0.5, torch.rand(img.shape, generator=g), img)
    a, _ = prepare_input(img, m, 32)
    b, _ = prepare_input(other, m, 32)
    assert torch.equal(a, b)


# --------------------------------------------------------------------------------------------- peers

def _check_peer(method):
    case = _case()
    given = case.input_image
    out = quality.classic_fill(method, given, case.mask, threads=1)
    assert out.shape == given.shape and out.dtype == np.float32
    assert np.array_equal(out[~case.mask], given[~case.mask])                   # known pixels exact
    assert np.array_equal(out[~case.mask], case.image[~case.mask])
    changed = np.abs(out[case.mask] - given[case.mask]).max(axis=-1) > 1 / 255
    assert changed.mean() > 0.9                                                 # the noise is replaced
    # a patch-based fill of smooth stripes is far closer to the truth than the noise it replaced
    err_fill = np.abs(out[case.mask] - case.image[case.mask]).mean()
    err_noise = np.abs(given[case.mask] - case.image[case.mask]).mean()
    assert err_fill < 0.5 * err_noise, (err_fill, err_noise)
    return out


@pytest.mark.skipif(shutil.which("gmic") is None, reason="gmic program not installed (apt-get install gmic)")
def test_gmic_wrapper_keeps_known_pixels_and_fills_the_hole():
    assert quality.classic_available("gmic") is None
    _check_peer("gmic")


@pytest.mark.skipif(importlib.util.find_spec("resynthesizer") is None,
                    reason="resynthesizer not installed (pip install resynthesizer==1.2)")
def test_resynthesizer_wrapper_keeps_known_pixels_and_fills_the_hole():
    assert quality.classic_available("resynthesizer") is None
    out = _check_peer("resynthesizer")
    assert np.array_equal(out, quality.classic_fill("resynthesizer", _case().input_image, _case().mask))


def test_missing_gmic_is_reported(monkeypatch):
    monkeypatch.setattr(quality.shutil, "which", lambda name: None)
    assert "gmic" in quality.classic_available("gmic")


def test_source_scale_cases_hide_small_holes_in_the_middle(monkeypatch):
    import source_scale

    rng = np.random.default_rng(0)
    monkeypatch.setattr(eval_set, "cached_image",
                        lambda src, size: rng.random((size, size, 3), dtype=np.float32))
    cases = source_scale.evaluation_cases()
    assert len(cases) == len(eval_set.LARGE_SOURCES)
    big, small = eval_set.LARGE_SIZE, eval_set.MAIN_SIZE
    lo, hi = (big - small) // 2, (big + small) // 2
    for _name, truth, mask, given in cases:
        assert mask.shape == (big, big) and mask.any()
        ys, xs = np.nonzero(mask)
        assert ys.min() >= lo and ys.max() < hi and xs.min() >= lo and xs.max() < hi
        assert np.array_equal(given[~mask], truth[~mask])
        assert not np.allclose(given[mask], truth[mask])
