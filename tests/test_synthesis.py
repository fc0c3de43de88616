"""The synthesis step (nps_core.synthesis): patterns continue, the pieces do what they say, plain mode stays reachable.

Quality checks use synthetic patterns (stripes, a checkerboard) with a square hole, the `vgg19_random`
backbone and, for the whole pipeline, a "content network" that returns the harmonic (membrane) fill
of the hole (a residual net with a zeroed output layer): a blurred start, as a real content net gives.
Images are 64-192 px, so the file runs in about a minute on an idle CPU.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import square_mask, striped_image

from nps_core import defaults
from nps_core.content import ContentNetConfig, random_content_net, save_content_net
from nps_core.errors import NPSInputError
from nps_core.filters import gaussian_blur
from nps_core.match_field import MatchField, pair_similarity, patch_descriptors, refine_field, upsample_field
from nps_core.pipeline import content_fill, inpaint, synthesis_for_steps
from nps_core.synthesis import Synthesiser, SynthesisSettings, keep_low_band, refine_shifts, vote_pixels

PLAIN = SynthesisSettings.plain()


# ----------------------------------------------------------------------------- test images and metrics

def stripes(size: int, period: int, direction: str) -> torch.Tensor:
    """[1,3,size,size] sinusoidal stripes ("vertical" or "diagonal"), three different colour phases."""
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    t = xx if direction == "vertical" else xx + yy
    v = 0.5 + 0.4 * torch.sin(2 * math.pi * t / period)
    return torch.stack([v, 1.0 - v, 0.2 + 0.5 * v])[None]


def checkerboard(size: int, cell: int) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    v = ((yy // cell + xx // cell) % 2).float() * 0.7 + 0.15
    return torch.stack([v, 0.2 + 0.5 * v, 1.0 - v])[None]


def hole_psnr(x: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> float:
    hole = (mask > 0.5).expand_as(truth)
    return float(-10 * torch.log10(((x - truth)[hole] ** 2).mean()))


def gradient_energy(x: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean squared forward difference (both axes, all channels) over hole pixels."""
    gx = (x[..., 1:, 1:] - x[..., 1:, :-1]).pow(2).sum(1, keepdim=True)
    gy = (x[..., 1:, 1:] - x[..., :-1, 1:]).pow(2).sum(1, keepdim=True)
    return float((gx + gy)[mask[..., 1:, 1:] > 0.5].mean())


def mean_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    known = (mask < 0.5).expand_as(image)
    colour = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    return torch.where(mask > 0.5, colour.expand_as(image), image)


def blur_fill(image: torch.Tensor, mask: torch.Tensor, sigma: float = 6.0) -> torch.Tensor:
    """Normalised Gaussian fill from the known pixels, smoothed a few more times inside the hole."""
    known = (mask < 0.5).to(image.dtype)
    x = gaussian_blur(image * known, sigma) / gaussian_blur(known, sigma).clamp_min(1e-6)
    x = torch.where(mask > 0.5, x, image)
    for _ in range(4):
        x = torch.where(mask > 0.5, gaussian_blur(x, sigma), image)
    return x


@pytest.fixture(scope="module")
def smooth_content_net():
    """Predicts the harmonic fill of the hole (residual net whose last layer is zero)."""
    config = ContentNetConfig(residual=True, residual_base="harmonic", channels=(8,) * 5, bottleneck=8, norm="none")
    return random_content_net(seed=0, config=config)


# ----------------------------------------------------------------------------- patterns continue

PATTERNS = {
    "vertical-stripes-16": lambda: stripes(128, 16, "vertical"),
    "diagonal-stripes-12": lambda: stripes(128, 12, "diagonal"),
    "checkerboard-8": lambda: checkerboard(128, 8),
}


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_level_continues_a_pattern_from_a_blurred_start(random_texture, pattern):
    truth = PATTERNS[pattern]()
    mask = square_mask(128, 44, 44, 40)
    start = blur_fill(truth, mask)
    # low_band_sigma 0: the blurred start has no low band worth keeping (test_keep_low_band_* covers it)
    out = Synthesiser(random_texture, SynthesisSettings(low_band_sigma=0.0)).level(truth, mask, start)
    known = (mask < 0.5).expand_as(truth)
    assert torch.equal(out[known], truth[known])
    gain_blur = hole_psnr(out, truth, mask) - hole_psnr(start, truth, mask)
    gain_mean = hole_psnr(out, truth, mask) - hole_psnr(mean_fill(truth, mask), truth, mask)
    assert gain_blur > 6.0 and gain_mean > 6.0, (gain_blur, gain_mean)
    sharpness = gradient_energy(out, mask) / gradient_energy(truth, mask)
    assert 0.75 < sharpness < 1.25, sharpness  # copied, not averaged: as sharp as the truth


FINE_PATTERNS = {
    "vertical-stripes-8": lambda: stripes(128, 8, "vertical"),
    "diagonal-stripes-8": lambda: stripes(128, 8, "diagonal"),
    "checkerboard-4": lambda: checkerboard(128, 4),
}


@pytest.mark.parametrize("pattern", list(FINE_PATTERNS))
def test_pipeline_with_synthesis_beats_plain_and_is_sharp(random_texture, smooth_content_net, pattern):
    truth = FINE_PATTERNS[pattern]()
    mask = square_mask(128, 44, 40, 40)
    kwargs = dict(content_net=smooth_content_net, texture=random_texture, iterations=3)
    # default SynthesisSettings; the 4 px checkerboard (period 8 px = 2 cells) needs single-pixel shifts
    # to keep its phase: without them it is no better than plain (9.3 vs 9.6 dB), documented in README
    settings = SynthesisSettings(pixel_search=2) if pattern.startswith("checkerboard") else SynthesisSettings()
    synth = inpaint(truth, mask, synthesis=settings, **kwargs).image
    plain = inpaint(truth, mask, synthesis=PLAIN, **kwargs).image
    blurred = blur_fill(truth, mask)
    psnr_synth = hole_psnr(synth, truth, mask)
    assert psnr_synth > hole_psnr(plain, truth, mask) + 2.5  # 6.0 / 16.6 / 15.5 dB measured with the defaults
    # 5.9 / 16.7 / 14.8 dB measured with the defaults
    assert psnr_synth > hole_psnr(blurred, truth, mask) + 2.5
    # sharpness: the default keeps the content fill's Gaussian low band (LOW_BAND_SIGMA), which takes part
    # of these fine patterns' contrast (about 0.55-0.8 of the truth's gradient energy remains); plain: ~0.05
    truth_energy = gradient_energy(truth, mask)
    assert gradient_energy(synth, mask) > 0.4 * truth_energy
    assert gradient_energy(synth, mask) > 4.0 * gradient_energy(plain, mask)


def test_coarsest_level_converges_on_fine_stripes_whatever_the_seed(random_texture, smooth_content_net):
    # the coarsest level's EM steps (SYNTHESIS_FIRST_STEPS) carry its random search to a coherent copy:
    # with 4 steps the 8 px diagonal stripes gained 2.6 / 12.0 / 4.3 / 17.9 dB over plain for seeds 0-3,
    # with 8 steps 16.6 / 17.9 / 17.9 / 17.9
    truth = FINE_PATTERNS["diagonal-stripes-8"]()
    mask = square_mask(128, 44, 40, 40)
    kwargs = dict(content_net=smooth_content_net, texture=random_texture, iterations=3)
    plain = hole_psnr(inpaint(truth, mask, synthesis=PLAIN, **kwargs).image, truth, mask)
    fills = [inpaint(truth, mask, synthesis=SynthesisSettings(seed=seed), **kwargs).image for seed in range(4)]
    gains = [hole_psnr(fill, truth, mask) - plain for fill in fills]
    assert min(gains) > 10.0, gains


# ----------------------------------------------------------------------------- pieces


def hole_and_valid(h, w, top, left, side, k=3):
    """Cell-level hole bool [h,w], its query cells [Q,2] and the valid source centres bool [h,w]."""
    from nps_core.patches import patch_centres

    hole = torch.zeros(h, w, dtype=torch.bool)
    hole[top:top + side, left:left + side] = True
    queries, sources = patch_centres(hole, k)
    valid = torch.zeros(h, w, dtype=torch.bool)
    valid[sources[:, 0], sources[:, 1]] = True
    return hole, queries, valid


def test_vote_pixels_with_a_constant_shift_copies_the_source_exactly():
    image = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))
    stride, k = 4, 3
    hole_cells, queries, _valid = hole_and_valid(16, 16, 5, 6, 4)
    hole_px = hole_cells.repeat_interleave(stride, 0).repeat_interleave(stride, 1)
    shift = torch.tensor([-3, 5])  # cells; the source blocks lie outside the hole
    field = MatchField(queries, queries + shift, torch.zeros(len(queries)), (16, 16), stride)
    out = vote_pixels(image, hole_px, field, k)
    expected = torch.roll(image, shifts=(-int(shift[0]) * stride, -int(shift[1]) * stride), dims=(1, 2))
    assert torch.allclose(out[:, hole_px], expected[:, hole_px], atol=1e-6)
    assert torch.equal(out[:, ~hole_px], image[:, ~hole_px])
    # single-pixel shifts (MatchField.shift) are used as given, and weights do not matter for agreeing votes
    field.shift = (shift * stride + torch.tensor([1, -2])).expand(len(queries), 2)
    out = vote_pixels(image, hole_px, field, k, falloff=1.0)
    expected = torch.roll(image, shifts=(-int(field.shift[0, 0]), -int(field.shift[0, 1])), dims=(1, 2))
    assert torch.allclose(out[:, hole_px], expected[:, hole_px], atol=1e-6)


def periodic_descriptors(h, w, period, dim=16, seed=0):
    """Unit rows [h*w, dim], the same for cells whose (row, col) agree modulo period."""
    g = torch.Generator().manual_seed(seed)
    phases = torch.nn.functional.normalize(torch.randn(period, period, dim, generator=g), dim=-1)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return phases[ys % period, xs % period].reshape(h * w, dim)


def neighbour_agreement(queries, sources, shape):
    """Fraction of 4-neighbour query pairs with the same offset."""
    h, w = shape
    offset = {(int(y), int(x)): (int(sy - y), int(sx - x)) for (y, x), (sy, sx) in zip(queries, sources, strict=True)}
    pairs = same = 0
    for (y, x), off in offset.items():
        for dy, dx in ((0, 1), (1, 0)):
            other = offset.get((y + dy, x + dx))
            if other is not None:
                pairs += 1
                same += other == off
    return same / max(1, pairs)


def test_refine_field_keeps_a_coherent_field_and_repairs_an_outlier():
    h = w = 24
    desc = periodic_descriptors(h, w, period=4)
    _hole, queries, valid = hole_and_valid(h, w, 9, 9, 6)
    coherent = queries + torch.tensor([0, -8])
    assert valid[coherent[:, 0], coherent[:, 1]].all()
    gen = torch.Generator().manual_seed(1)
    sources, sim = refine_field(desc, (h, w), queries, coherent.clone(), valid, rounds=4, generator=gen)
    assert torch.equal(sources, coherent)
    assert torch.allclose(sim, torch.zeros_like(sim), atol=1e-6)
    # slightly noisy descriptors: other copies of the period match a little better here and there; the
    # bonus for the offset the neighbours share keeps the field whole (without it, the field breaks up)
    noisy = torch.nn.functional.normalize(desc + 0.02 * torch.randn(desc.shape, generator=gen), dim=1)
    kept, _ = refine_field(noisy, (h, w), queries, coherent.clone(), valid, rounds=4, bonus=0.2,
                           random_candidates=4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(kept, coherent)
    broken_up, _ = refine_field(noisy, (h, w), queries, coherent.clone(), valid, rounds=4, bonus=0.0,
                                random_candidates=4, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(broken_up, coherent)
    # one query copies from elsewhere (a worse match); its neighbours' shared offset wins it back
    broken = coherent.clone()
    i = len(queries) // 2
    broken[i] = torch.tensor([2, 20])
    assert valid[2, 20] and pair_similarity(desc, w, queries[i:i + 1], broken[i:i + 1]) < -0.1
    sources, _ = refine_field(desc, (h, w), queries, broken, valid, rounds=2, random_candidates=0)
    assert torch.equal(sources, coherent)


def test_refine_field_never_picks_an_invalid_source_and_gets_more_coherent():
    h = w = 24
    g = torch.Generator().manual_seed(3)
    desc = periodic_descriptors(h, w, period=5, seed=2) + 0.05 * torch.randn(h * w, 16, generator=g)
    hole, queries, valid = hole_and_valid(h, w, 7, 6, 9)
    allowed = torch.nonzero(valid)
    start = allowed[torch.randint(len(allowed), (len(queries),), generator=g)]  # valid but incoherent
    sources, sim = refine_field(desc, (h, w), queries, start, valid, rounds=6, bonus=0.2,
                                random_candidates=6, generator=g)
    assert valid[sources[:, 0], sources[:, 1]].all()
    assert not hole[sources[:, 0], sources[:, 1]].any()
    # refine_field scores by q.c - |q|^2/2 - |c|^2/2: the same value as the difference form up to rounding
    assert torch.allclose(sim, pair_similarity(desc, w, queries, sources), rtol=0, atol=1e-6)
    assert neighbour_agreement(queries, sources, (h, w)) > neighbour_agreement(queries, start, (h, w)) + 0.3


def test_upsample_field_scales_offsets_and_flags_bad_landings():
    coarse_q = torch.tensor([[4, 4], [4, 5], [5, 4], [5, 5]])
    coarse = MatchField(coarse_q, coarse_q + torch.tensor([-3, 2]), torch.zeros(4), (12, 12), 4)
    _hole, fine_q, valid = hole_and_valid(24, 24, 8, 8, 4)
    sources, ok = upsample_field(coarse, fine_q, (24, 24), valid)
    assert torch.equal(sources, fine_q + torch.tensor([-6, 4]))  # offsets doubled with the map
    assert ok.all()
    # a carried offset that lands in the hole, or off the map, is flagged
    coarse_bad = MatchField(coarse_q, coarse_q.clone(), torch.zeros(4), (12, 12), 4)  # lands in the hole
    assert not upsample_field(coarse_bad, fine_q, (24, 24), valid)[1].any()
    coarse_off = MatchField(coarse_q, coarse_q + torch.tensor([0, 9]), torch.zeros(4), (12, 12), 4)
    assert not upsample_field(coarse_off, fine_q, (24, 24), valid)[1].any()


def test_refine_shifts_recovers_a_sub_cell_shift():
    stride, k = 4, 3
    g = torch.Generator().manual_seed(5)
    texture = gaussian_blur(torch.rand(1, 3, 96, 96, generator=g), 1.0)[0]
    hole_cells, queries, _valid = hole_and_valid(24, 24, 8, 10, 8)
    hole_px = hole_cells.repeat_interleave(stride, 0).repeat_interleave(stride, 1)
    cell_shift = torch.tensor([-6, -8])  # the match's cell displacement, up and left of the hole
    true_shift = cell_shift * stride + torch.tensor([1, -2])  # what the pixels really are
    image = texture.clone()
    ys, xs = torch.nonzero(hole_px, as_tuple=True)
    image[:, ys, xs] = texture[:, ys + true_shift[0], xs + true_shift[1]]
    field = MatchField(queries, queries + cell_shift, torch.zeros(len(queries)), (24, 24), stride)
    shifts = refine_shifts(image, ~hole_px, field, k, search=2)
    # queries whose whole k x k pixel block is in the hole see only the shifted copy: exact recovery
    inner = ((queries >= torch.tensor([9, 11])) & (queries <= torch.tensor([14, 16]))).all(1)
    assert inner.sum() >= 30
    assert (shifts[inner] == true_shift).all()
    assert torch.equal(refine_shifts(image, ~hole_px, field, k, search=0), (cell_shift * stride).expand_as(shifts))


def test_keep_low_band_keeps_known_pixels_and_takes_the_reference_low_band():
    g = torch.Generator().manual_seed(4)
    reference = 0.3 + 0.4 * gaussian_blur(torch.rand(1, 3, 64, 64, generator=g), 4.0)
    mask = square_mask(64, 16, 20, 28)
    hole = (mask > 0.5).expand_as(reference)
    # a constant offset in the hole is low band: it disappears
    x = torch.where(hole, reference + 0.1, reference)
    out = keep_low_band(x, reference, mask, sigma=2.0)
    assert torch.equal(out[~hole], x[~hole])
    assert torch.allclose(out[hole], reference[hole], atol=1e-5)
    # one-pixel detail on top of the offset survives (its Gaussian low band is ~0), the offset does not
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    detail = 0.05 * (((yy + xx) % 2) * 2 - 1).float()
    x = torch.where(hole, reference + 0.1 + detail, reference)
    out = keep_low_band(x, reference, mask, sigma=2.0)
    residual = (out - reference)[hole]
    assert abs(float(residual.mean())) < 2e-3
    assert torch.corrcoef(torch.stack([residual, detail.expand_as(reference)[hole]]))[0, 1] > 0.95
    assert torch.equal(out[~hole], x[~hole])


@pytest.mark.parametrize("field, value", [
    ("steps", -1), ("first_steps", float("nan")), ("rounds", 1.5), ("random_candidates", -2), ("layer", -1),
    ("pixel_search", float("nan")), ("bonus", -0.1), ("colour_weight", float("nan")),
    ("low_band_sigma", float("inf")), ("vote_falloff", -1.0),
])
def test_settings_reject_bad_values_naming_the_field(field, value):
    with pytest.raises(NPSInputError, match=field):
        SynthesisSettings(**{field: value})


def test_settings_enabled_describe_and_the_user_facing_helper():
    assert SynthesisSettings().enabled == (defaults.SYNTHESIS_STEPS > 0 or defaults.SYNTHESIS_FIRST_STEPS > 0)
    assert not PLAIN.enabled and "off" in PLAIN.describe()
    assert synthesis_for_steps(0) == PLAIN
    on = synthesis_for_steps(3, seed=7)
    assert (on.steps, on.first_steps, on.seed) == (3, defaults.SYNTHESIS_FIRST_STEPS, 7) and on.enabled
    if defaults.SYNTHESIS_STEPS > 0:
        assert synthesis_for_steps(defaults.SYNTHESIS_STEPS) == SynthesisSettings()
    assert "EM steps" in on.describe()
    with pytest.raises(NPSInputError, match="steps"):
        synthesis_for_steps(-1)


def test_synthesiser_rejects_a_layer_the_backbone_lacks(random_texture):
    layers = len(random_texture.layers)
    Synthesiser(random_texture, SynthesisSettings(layer=layers - 1))
    with pytest.raises(NPSInputError, match=f"layer {layers} does not exist"):
        Synthesiser(random_texture, SynthesisSettings(layer=layers))


def test_level_ignores_the_pixels_under_the_hole(random_texture):
    image = striped_image(96)
    mask = square_mask(96, 30, 24, 36)
    reference = blur_fill(image, mask)
    settings = SynthesisSettings(first_steps=2)
    outs = []
    for fill in (torch.zeros_like(image), torch.ones_like(image), image):
        given = torch.where(mask > 0.5, fill, image)
        outs.append(Synthesiser(random_texture, settings).level(given, mask, reference))
    assert all(torch.equal(o, outs[0]) for o in outs)


def test_level_with_no_steps_returns_the_reference_and_keeps_known_pixels(random_texture):
    image = striped_image(64)
    mask = square_mask(64, 20, 20, 24)
    reference = torch.full_like(image, 0.25)
    out = Synthesiser(random_texture, PLAIN).level(image, mask, reference)
    assert torch.equal(out, torch.where(mask > 0.5, reference, image))


# ----------------------------------------------------------------------------- pipeline: plain stays reachable


def test_plain_pipeline_without_iterations_returns_the_content_fill(random_texture, content_net):
    image = striped_image(128)
    mask = square_mask(128, 40, 40, 48)  # a 128 px window: the whole image, one level
    plain = inpaint(image, mask, content_net=content_net, texture=random_texture, iterations=0, synthesis=PLAIN)
    assert plain.window.size == 128 and len(plain.levels) == 1
    assert torch.equal(plain.image, content_fill(content_net, image, mask))
    assert plain.levels[0].synthesis_seconds == 0.0
    synth = inpaint(image, mask, content_net=content_net, texture=random_texture, iterations=0)
    assert not torch.equal(synth.image, plain.image)  # the default does start from the synthesis
    once = inpaint(image, mask, content_net=content_net, texture=random_texture, iterations=0, synthesis=PLAIN,
                   content_views=1)
    assert torch.equal(once.image, content_fill(content_net, image, mask, views=1))  # the paper's single pass
    assert not torch.equal(once.image, plain.image)
    known = (mask < 0.5).expand_as(image)
    assert torch.equal(synth.image[known], image[known])


def test_plain_pipeline_never_synthesises_and_default_pipeline_does(random_texture, content_net, monkeypatch):
    image = striped_image(192)
    mask = square_mask(192, 48, 48, 96)  # window 192: levels 128 and 192
    calls = []
    original = Synthesiser.level

    def counting(self, *args, **kwargs):
        calls.append(tuple(args[0].shape[-2:]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Synthesiser, "level", counting)
    texture = dataclasses.replace(random_texture, max_sources=256)
    plain = inpaint(image, mask, content_net=content_net, texture=texture, iterations=1, synthesis=PLAIN)
    assert calls == [] and [r.size for r in plain.levels] == [(128, 128), (192, 192)]
    synth = inpaint(image, mask, content_net=content_net, texture=texture, iterations=1)
    assert calls == [(128, 128), (192, 192)]
    assert synth.synthesis == SynthesisSettings() and "synthesis:" in synth.describe()
    assert all(r.synthesis_seconds > 0 for r in synth.levels)
    assert "synthesis off" in plain.describe()


# ----------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("cli")
    rgba = np.concatenate([(striped_image(64)[0].permute(1, 2, 0).numpy() * 255).round(),
                           np.full((64, 64, 1), 255.0)], -1).astype(np.uint8)
    rgba[20:40, 24:44, 3] = 0  # transparent = hole
    Image.fromarray(rgba, "RGBA").save(folder / "in.png")
    save_content_net(random_content_net(seed=0), folder / "net.safetensors")
    return folder


def test_cli_options_parse_and_are_in_the_help(capsys):
    from nps_core.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["inpaint", "a.png", "b.png"])
    assert args.synthesis_steps == defaults.SYNTHESIS_STEPS and not args.plain
    assert parser.parse_args(["inpaint", "--plain", "o.png"]).plain
    assert parser.parse_args(["inpaint", "--synthesis-steps", "0", "o.png"]).synthesis_steps == 0
    with pytest.raises(SystemExit):
        parser.parse_args(["inpaint", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--synthesis-steps N" in text and "--plain" in text and "0 = off, the paper's plain optimisation" in text


@pytest.mark.parametrize("flags, expect", [(["--plain"], "off"), (["--synthesis-steps", "1"], "1 EM"),
                                           (["--synthesis-steps", "1", "--source-scale", "3"], "1 EM")],
                         ids=["plain", "steps-1", "source-scale"])
def test_cli_passes_synthesis_through_and_reports_it(cli_files, flags, expect, capsys):
    from nps_core.cli import main

    out, report = cli_files / f"out{flags[-1]}.png", cli_files / f"report{flags[-1]}.json"
    code = main(["inpaint", str(cli_files / "in.png"), str(out), "--backbone", "vgg19_random", "--iterations", "1",
                 "--content-weights", str(cli_files / "net.safetensors"), "--device", "cpu", "--quiet",
                 "--report", str(report), *flags])
    assert code == 0 and out.exists()
    data = json.loads(report.read_text())
    settings = data["synthesis_settings"]
    if expect == "off":
        assert "off" in data["synthesis"] and settings["steps"] == settings["first_steps"] == 0
        assert all(level["synthesis_seconds"] == 0 for level in data["levels"])
    else:
        assert "/1 EM steps" in data["synthesis"] and settings["steps"] == 1
        assert settings["first_steps"] == defaults.SYNTHESIS_FIRST_STEPS
        assert settings["source_scale"] == (3.0 if "--source-scale" in flags else defaults.SOURCE_SCALE)
        assert all(level["synthesis_seconds"] > 0 for level in data["levels"])


def test_cli_rejects_a_negative_step_count(cli_files, capsys):
    from nps_core.cli import main

    code = main(["inpaint", str(cli_files / "in.png"), str(cli_files / "x.png"), "--synthesis-steps", "-1"])
    assert code == 2 and "steps" in capsys.readouterr().err
    code = main(["inpaint", str(cli_files / "in.png"), str(cli_files / "x.png"), "--source-scale", "0.5"])
    assert code == 2 and "--source-scale" in capsys.readouterr().err


def test_levels_meet_the_border_a_thin_hole_is_interpolated_at_full_resolution(smooth_content_net):
    """Border matching (defaults.MATCH_BORDER) against the paper's plain hand-over, same optimisation."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 256), torch.linspace(0, 1, 256), indexing="ij")
    truth = torch.stack([0.5 + 0.3 * torch.sin(6 * x + 2 * y), 0.4 + 0.3 * y * x, 0.3 + 0.2 * torch.cos(5 * y)])[None]
    mask = torch.zeros(1, 1, 256, 256)
    mask[..., 100:106, 40:216] = 1                      # a 6 px stroke: 1.5 px at the coarsest level
    kwargs = dict(content_net=smooth_content_net, alpha=0.0, iterations=0)
    matched = inpaint(truth, mask, synthesis=SynthesisSettings(steps=0, first_steps=0, match_border=True), **kwargs)
    plain = inpaint(truth, mask, synthesis=PLAIN, **kwargs)
    assert hole_psnr(matched.image, truth, mask) > hole_psnr(plain.image, truth, mask) + 6.0
    assert torch.equal(matched.image[(mask < 0.5).expand_as(truth)], truth[(mask < 0.5).expand_as(truth)])
    assert not PLAIN.match_border and SynthesisSettings().match_border == defaults.MATCH_BORDER


def test_patch_descriptors_compare_like_unfolded_unit_patches_plus_colours():
    # reference: unfold's channel-major patches, unit norm, then colour_weight x the k x k cell colours
    g = torch.Generator().manual_seed(4)
    feat, image, stride, k, colour = torch.rand(6, 10, 12, generator=g), torch.rand(3, 40, 48, generator=g), 4, 3, 0.7
    cols = F.unfold(feat[None], k, padding=1)[0]
    cells = F.unfold(F.avg_pool2d(image[None], stride), k, padding=1)[0] * colour
    reference = torch.cat([cols / cols.norm(dim=0, keepdim=True), cells], dim=0).t()
    desc = patch_descriptors(feat, image, stride, k, colour)
    assert desc.shape == reference.shape == (120, 6 * 9 + 27)
    exact = "donot_use_mm_for_euclid_dist"
    assert torch.allclose(torch.cdist(desc, desc, compute_mode=exact),
                          torch.cdist(reference, reference, compute_mode=exact), atol=1e-5)


def test_pixel_vote_sharpness_applies_to_wide_holes_and_never_to_thin_ones(random_texture):
    image = PATTERNS["diagonal-stripes-12"]()
    wide = square_mask(128, 40, 40, 48)
    thin = torch.zeros_like(wide)
    thin[..., 60:66, 20:108] = 1.0  # a 6 px stroke: every pixel within 3 px of the border
    for mask, should_change in ((wide, True), (thin, False)):
        reference = blur_fill(image, mask)
        outs = [Synthesiser(random_texture, SynthesisSettings(pixel_sharpness=s)).level(image, mask, reference,
                                                                                        finest=True)
                for s in (1.0, 8.0)]
        assert torch.equal(outs[0], outs[1]) is not should_change
    with pytest.raises(NPSInputError, match="pixel_sharpness"):
        SynthesisSettings(pixel_sharpness=-1.0)


def test_refining_a_rough_fill_votes_with_refine_sharpness(random_texture):
    image = PATTERNS["diagonal-stripes-12"]()
    mask = square_mask(128, 40, 40, 48)
    reference = blur_fill(image, mask)

    def run(refine, **settings):
        synth = Synthesiser(random_texture, SynthesisSettings(**settings), refine=refine)
        return synth.level(image, mask, reference, finest=True)

    # refining: pixel_sharpness is not used, refine_sharpness is; inpainting: the other way round
    assert torch.equal(run(True, pixel_sharpness=8.0), run(True, pixel_sharpness=1.0))
    assert not torch.equal(run(True, refine_sharpness=8.0), run(True, refine_sharpness=1.0))
    assert torch.equal(run(False, refine_sharpness=8.0), run(False, refine_sharpness=1.0))
    with pytest.raises(NPSInputError, match="refine_sharpness"):
        SynthesisSettings(refine_sharpness=float("nan"))
