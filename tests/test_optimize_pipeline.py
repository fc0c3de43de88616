"""Per-scale optimisation and the whole coarse-to-fine pipeline (small sizes, random weights)."""

import pytest
import torch
from conftest import square_mask, striped_image

from nps_core.errors import NPSInputError
from nps_core.optimize import optimize_scale
from nps_core.pipeline import inpaint
from nps_core.texture import LevelTexture


def test_optimisation_lowers_the_loss_and_keeps_known_pixels(random_texture):
    img = striped_image(128)
    mask = square_mask(128, 40, 40, 48)
    init = torch.where(mask > 0, torch.full_like(img, 0.5), img)
    result, report = optimize_scale(img, mask, init, random_texture, alpha=1.0, beta=0.1, iterations=15)
    assert report.iterations >= 5
    assert report.losses["total"] < report.start_losses["total"]
    assert report.losses["texture"] < report.start_losses["texture"]
    known = mask.expand_as(img) < 0.5
    assert torch.equal(result[known], img[known])
    assert result.shape == img.shape and 0 <= result.min() and result.max() <= 1


def test_texture_term_pulls_hole_towards_surrounding_texture(random_texture):
    img = striped_image(128)
    mask = square_mask(128, 40, 40, 48)
    flat = torch.where(mask > 0, torch.full_like(img, 0.5), img)
    with_tex, _ = optimize_scale(img, mask, flat, random_texture, alpha=5.0, beta=0.0, iterations=25)
    without, _ = optimize_scale(img, mask, flat, None, alpha=0.0, beta=0.0, iterations=25)
    def sharpness(x):  # mean horizontal gradient magnitude inside the hole (stripes are vertical)
        return (x[..., 44:84, 45:84] - x[..., 44:84, 44:83]).abs().mean()

    # the flat start has no stripes; the texture term brings back the surroundings' high frequencies
    assert sharpness(without) < 0.2 * sharpness(img)
    assert sharpness(with_tex) > 3 * sharpness(without)


def test_cropped_texture_loss_equals_full_window_loss(random_texture):
    import dataclasses

    img = striped_image(256)
    mask = square_mask(256, 100, 100, 48)
    full = dataclasses.replace(random_texture, crop=False)
    cropped = LevelTexture.build(random_texture, img, mask)
    whole = LevelTexture.build(full, img, mask)
    assert cropped.box != (0, 256, 0, 256)
    a, b = cropped.loss(img), whole.loss(img)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_optimize_scale_works_under_inference_mode(random_texture):
    img = striped_image(128)
    mask = square_mask(128, 40, 40, 48)
    with torch.inference_mode():
        result, report = optimize_scale(img, mask, img, random_texture, iterations=3)
    assert report.iterations == 3 and result.shape == img.shape


def test_cancel_from_callback_stops_within_one_iteration(random_texture):
    calls = []

    class Cancelled(Exception):
        pass

    def cb(event):
        calls.append(event.iteration)
        if event.iteration == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        optimize_scale(striped_image(128), square_mask(128), striped_image(128), random_texture,
                       iterations=50, callback=cb)
    assert calls == [1, 2]


def test_pipeline_fills_hole_and_is_deterministic(random_texture, content_net):
    img = striped_image(256)
    mask = square_mask(256, 96, 96, 64)[:, 0]  # ComfyUI-like [B,H,W]
    kwargs = dict(content_net=content_net, texture=random_texture, iterations=4)
    a = inpaint(img, mask, **kwargs)
    b = inpaint(img, mask, **kwargs)
    assert torch.equal(a.image, b.image)
    known = mask[:, None].expand_as(img) < 0.5
    assert torch.equal(a.image[known], img[known])
    assert not torch.equal(a.image, img)
    assert [r.size for r in a.levels] == [(128, 128)]
    assert torch.equal(img, striped_image(256))  # input untouched


def test_pipeline_runs_three_levels_for_a_256_hole_in_512(random_texture, content_net):
    img = striped_image(512)
    mask = square_mask(512, 128, 128, 256)
    events = []
    res = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=2,
                  callback=lambda e: events.append((e.level, e.iteration)))
    assert [r.size[0] for r in res.levels] == [128, 256, 512]
    assert {lvl for lvl, _ in events} == {0, 1, 2}


def test_empty_mask_returns_image_unchanged_and_full_mask_is_an_error(random_texture, content_net):
    img = striped_image(64)
    res = inpaint(img, torch.zeros(1, 64, 64), content_net=content_net, texture=random_texture)
    assert torch.equal(res.image, img) and res.levels == []
    with pytest.raises(NPSInputError, match="whole image"):
        inpaint(img, torch.ones(1, 64, 64), content_net=content_net, texture=random_texture)


def test_small_odd_image_with_border_hole_and_batch_broadcast(random_texture, content_net):
    img = striped_image(90, batch=2)[..., :77]  # 90x77, not a multiple of 8, smaller than 128
    mask = torch.zeros(1, 90, 77)
    mask[:, 0:20, 60:77] = 1  # touches the top-right corner
    res = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=2)
    assert res.image.shape == img.shape
    keep = mask[:, None].expand_as(img) < 0.5
    assert torch.equal(res.image[keep], img[keep])


def test_batch_with_one_empty_mask_only_changes_the_other(random_texture, content_net):
    img = striped_image(128, batch=2)
    mask = torch.zeros(2, 128, 128)
    mask[1, 40:80, 40:80] = 1
    res = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=2)
    assert torch.equal(res.image[0], img[0]) and not torch.equal(res.image[1], img[1])


def test_bad_inputs_name_the_problem(random_texture, content_net):
    img = striped_image(64)
    bad = img.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(NPSInputError, match="NaN"):
        inpaint(bad, square_mask(64, 8, 8, 8), content_net=content_net, texture=random_texture)
    with pytest.raises(NPSInputError, match="batch"):
        inpaint(striped_image(64, batch=3), torch.zeros(2, 64, 64), content_net=content_net, texture=random_texture)
    with pytest.raises(NPSInputError, match="init"):
        optimize_scale(img, square_mask(64), striped_image(32), random_texture)


def test_texture_precision_settings_and_errors(random_texture):
    import dataclasses

    from nps_core.texture import TextureSettings

    img = striped_image(128)
    mask = square_mask(128, 40, 40, 48)
    fp32 = dataclasses.replace(random_texture, precision="fp32")
    bf16 = dataclasses.replace(random_texture, precision="bf16")
    assert fp32.match_dtype == torch.float32 and bf16.compute_dtype == torch.bfloat16
    a = LevelTexture.build(fp32, img, mask).loss(img)
    b = LevelTexture.build(bf16, img, mask).loss(img)
    assert a.dtype == b.dtype == torch.float32
    assert abs(float(a) - float(b)) <= 0.05 * float(a)
    with pytest.raises(NPSInputError, match="precision"):
        TextureSettings(extractor=random_texture.extractor, layer_weights=(1.0, 1.0), precision="fp8")
    with pytest.raises(NPSInputError, match="CUDA"):
        _ = dataclasses.replace(random_texture, precision="fp16").compute_dtype


def test_adaptive_refresh_skips_rematching_when_matches_stay(random_texture):
    import dataclasses

    img = striped_image(128)
    mask = square_mask(128, 40, 40, 48)
    fixed = LevelTexture.build(dataclasses.replace(random_texture, refresh_every=2, adaptive_refresh=False), img, mask)
    adaptive = LevelTexture.build(dataclasses.replace(random_texture, refresh_every=2), img, mask)
    for _ in range(12):  # same image every time: matches never change
        la, lb = fixed.loss(img), adaptive.loss(img)
        assert torch.allclose(la, lb)
    n_fixed = sum(st.refreshes for st in fixed.states[0] if st is not None)
    n_adaptive = sum(st.refreshes for st in adaptive.states[0] if st is not None)
    assert n_adaptive < n_fixed
    assert all(st.interval <= 8 for st in adaptive.states[0] if st is not None)


def test_early_stop_on_relative_tolerance(random_texture):
    from nps_core.optimize import converged

    assert not converged([1.0] * 5, 10, 1e-3)              # too few evaluations
    assert converged([2.0] + [1.0] * 30, 10, 1e-3)          # flat for the last window
    assert not converged([float(30 - i) for i in range(31)], 10, 1e-3)  # still falling
    assert not converged([1.0] * 40, 10, 0.0)               # tolerance 0 = never
    img = striped_image(128)
    mask = square_mask(128, 40, 40, 48)
    _, report = optimize_scale(img, mask, img, random_texture, alpha=1.0, beta=0.1, iterations=60,
                               tolerance_change=0.5)
    assert 20 <= report.iterations < 60 and any("converged" in n for n in report.notes)


@pytest.mark.parametrize("match_dims", [0, 32])
def test_restricted_refresh_never_picks_a_less_similar_source(random_texture, match_dims):
    import dataclasses

    from nps_core.patches import gather_patches, normalise_rows

    img = striped_image(128)
    mask = square_mask(128, 40, 40, 48)
    settings = dataclasses.replace(random_texture, precision="fp32", refresh_every=1, adaptive_refresh=False,
                                   exhaustive_every=3, match_dims=match_dims)
    lt = LevelTexture.build(settings, img, mask)
    y0, y1, x0, x1 = lt.box
    lt.loss(img)  # exhaustive
    before = [st.matches.clone() for st in lt.states[0]]
    x = (img + 0.1 * torch.rand_like(img)).clamp(0, 1)
    lt.loss(x)  # restricted to the sources in use
    feats = settings.features(x[:, :, y0:y1, x0:x1])
    for li, (st, old) in enumerate(zip(lt.states[0], before, strict=True)):
        assert set(st.matches.tolist()) <= set(old.tolist())
        q = normalise_rows(gather_patches(feats[li][0], st.queries, 3))
        sim_new = (q * st.bank[st.matches]).sum(1)
        sim_old = (q * st.bank[old]).sum(1)
        if match_dims == 0:  # exact search: never worse, patch by patch
            assert (sim_new >= sim_old - 1e-5).all()
        else:  # on principal directions: the same up to near-ties, on average no worse
            assert float(sim_new.mean()) >= float(sim_old.mean()) - 2e-3
    with pytest.raises(NPSInputError, match="exhaustive_every"):
        dataclasses.replace(random_texture, exhaustive_every=0)


def test_map_form_of_texture_loss_equals_patch_form_value_and_gradient(random_texture):
    import dataclasses

    from nps_core.patches import gather_patches

    settings = dataclasses.replace(random_texture, precision="fp32")
    img = striped_image(128)
    mask = square_mask(128, 36, 44, 40)
    lt = LevelTexture.build(settings, img, mask)
    x = (img + 0.05 * torch.randn(img.shape, generator=torch.Generator().manual_seed(3))).clamp(0, 1)
    x1 = x.clone().requires_grad_(True)
    fast = lt.loss(x1)
    fast.backward()
    x2 = x.clone().requires_grad_(True)
    y0, y1, x0, x1_ = lt.box
    feats = settings.features(x2[:, :, y0:y1, x0:x1_])
    slow = 0
    for li, st in enumerate(lt.states[0]):
        q = gather_patches(feats[li][0], st.queries, 3)
        target = st.bank[st.matches] * st.norms[st.matches, None]
        slow = slow + settings.layer_weights[li] * (q - target).pow(2).mean() / st.energy
    slow.backward()
    assert torch.allclose(fast.detach(), slow.detach(), rtol=1e-4)
    assert torch.allclose(x1.grad, x2.grad, rtol=1e-3, atol=1e-3 * float(x2.grad.abs().max()))
