"""A rough fill from any inpainter as the content (nps_core.rough_fill and inpaint(content=...))."""

import pytest
import torch
import torch.nn.functional as F
from conftest import square_mask, striped_image

from nps_core.errors import NPSInputError
from nps_core.filters import gaussian_blur
from nps_core.pipeline import fill_window, inpaint
from nps_core.rough_fill import FillBand, crop_for_window, prepare_rough_fill, start_level
from nps_core.synthesis import SynthesisSettings
from nps_core.window import crop_window, plan_window

PLAIN = SynthesisSettings.plain()


def smooth_image(h, w, batch=1):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    img = torch.stack([xx, yy, 0.5 + 0.4 * torch.sin(3 * xx + 2 * yy)])[None]
    return img.repeat(batch, 1, 1, 1)


def test_fill_of_the_image_size_is_cut_out_exactly():
    img = torch.rand(2, 3, 100, 90)
    mask = torch.zeros(2, 1, 100, 90)
    mask[0, :, 5:20, 5:25] = 1  # window leaves the image: reflect padding
    mask[1, :, 60:80, 40:70] = 1
    window = plan_window(mask, min_size=64)
    assert torch.equal(crop_for_window(img, window), crop_window(img, window))


def test_low_resolution_fill_is_cut_at_its_own_density():
    full = smooth_image(256, 384)
    mask = torch.zeros(1, 1, 256, 384)
    mask[..., 96:136, 150:190] = 1
    window = plan_window(mask, min_size=128)
    quarter = F.interpolate(full, size=(64, 96), mode="bilinear", antialias=True, align_corners=False)
    crop = crop_for_window(quarter, window)
    assert crop.shape == (1, 3, window.size // 4, window.size // 4)
    reference = F.interpolate(crop_window(full, window), size=crop.shape[-2:], mode="bilinear",
                              antialias=True, align_corners=False)
    assert (crop - reference).abs().max() < 0.03  # the same region, not a shifted one
    fine = F.interpolate(full, size=(512, 768), mode="bilinear", align_corners=False)
    down = crop_for_window(fine, window)  # finer than the image: at most the window's side
    assert down.shape == (1, 3, window.size, window.size)
    assert (down - crop_window(full, window)).abs().max() < 0.03


def test_start_level_is_the_closest_to_the_fill_resolution():
    sizes = [128, 256, 512, 1024]
    assert start_level(sizes, (256, 256)) == 1
    assert start_level(sizes, (40, 40)) == 0
    assert start_level(sizes, (4000, 4000)) == 3
    assert start_level(sizes, (180, 180)) == 0      # log2 gaps 0.49 vs 0.51
    assert start_level(sizes, (1024, 300)) == 1     # the shorter side counts
    assert start_level([128], (512, 512)) == 0


def test_fill_window_starts_at_the_fill_level(content_net, random_texture):
    img = striped_image(256)
    mask = square_mask(256, 96, 96, 64)
    kwargs = {"alpha": 0.0, "beta": 0.0, "iterations": 1, "synthesis": PLAIN}
    _, full = fill_window(img, mask, content_net, random_texture, **kwargs)
    _, from_128 = fill_window(img, mask, None, random_texture, content=torch.rand(1, 3, 128, 128), **kwargs)
    _, from_256 = fill_window(img, mask, None, random_texture, content=torch.rand(1, 3, 256, 256), **kwargs)
    assert [r.size for r in full] == [(128, 128), (256, 256)]
    assert [r.size for r in from_128] == [(128, 128), (256, 256)]
    assert [r.size for r in from_256] == [(256, 256)]


@pytest.mark.parametrize("synthesis", [PLAIN, None], ids=["plain", "synthesis"])
def test_content_moves_the_fill_towards_it_and_keeps_known_pixels(random_texture, synthesis):
    img = striped_image(256)
    mask = square_mask(256, 80, 96, 64)
    red = torch.zeros(1, 3, 64, 64)
    red[:, 0] = 1.0  # a quarter-resolution fill of a distinct colour
    kwargs = {"texture": random_texture, "iterations": 3, "synthesis": synthesis}
    # a content-net path that cannot load proves the network is not used with a content fill
    res = inpaint(img, mask, content_net="/nonexistent/content.safetensors", content=red, **kwargs)
    hole = mask.expand_as(img) > 0.5
    inside = res.image[hole].view(3, -1).mean(dim=1)
    assert inside[0] > 0.8 and inside[1] < 0.2 and inside[2] < 0.2
    assert torch.equal(res.image[~hole], img[~hole])
    assert [r.size for r in res.levels] == [(128, 128)]  # a 32 px fill of the 128 px window: coarsest
    assert res.image.shape == img.shape


def test_full_resolution_content_runs_only_the_finest_level(content_net, random_texture):
    img = striped_image(256)
    mask = square_mask(256, 96, 96, 64)
    green = img.clone()
    green[:, 1] = 1.0
    res = inpaint(img, mask, texture=random_texture, iterations=2, synthesis=PLAIN, content=green)
    assert [r.size for r in res.levels] == [(res.window.size, res.window.size)]
    hole = mask.expand_as(img) > 0.5
    assert res.image[:, 1][hole[:, 1]].mean() > 0.9
    assert torch.equal(res.image[~hole], img[~hole])


def test_content_per_batch_item_and_broadcast(random_texture):
    img = striped_image(128, batch=2)
    mask = square_mask(128, 40, 40, 32, batch=2)
    fills = torch.zeros(2, 3, 128, 128)
    fills[0, 0] = 1.0
    fills[1, 2] = 1.0
    res = inpaint(img, mask, texture=random_texture, iterations=1, synthesis=PLAIN, alpha=0.0, content=fills)
    hole = mask[0, 0] > 0.5
    assert res.image[0, 0][hole].mean() > 0.9 and res.image[1, 2][hole].mean() > 0.9
    one = inpaint(img, mask, texture=random_texture, iterations=1, synthesis=PLAIN, alpha=0.0,
                  content=fills[:1])
    assert one.image[1, 0][hole].mean() > 0.9


@pytest.mark.parametrize("bad, words", [
    (torch.rand(3, 64), "[B,3,h,w]"),
    (torch.rand(1, 2, 64, 64), "[B,3,h,w]"),
    (torch.rand(3, 3, 64, 64), "batch size 3"),
    (torch.full((1, 3, 64, 64), float("nan")), "NaN"),
    ([[0.5]], "torch tensor"),
])
def test_bad_content_is_a_clear_error(random_texture, bad, words):
    img = striped_image(128, batch=2)
    with pytest.raises(NPSInputError) as info:
        inpaint(img, square_mask(128), texture=random_texture, iterations=1, content=bad)
    assert words in str(info.value) and "content" in str(info.value)


def test_prepare_rough_fill_accepts_grey_and_single_images():
    assert prepare_rough_fill(torch.rand(3, 10, 20), 4).shape == (1, 3, 10, 20)
    assert prepare_rough_fill(torch.rand(4, 1, 10, 20), 4).shape == (4, 3, 10, 20)


def test_cli_content_image_is_the_content(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from nps_core.cli import main

    rgba = np.concatenate([(striped_image(128)[0].permute(1, 2, 0).numpy() * 255).round(),
                           np.full((128, 128, 1), 255.0)], -1).astype(np.uint8)
    rgba[40:72, 40:72, 3] = 0  # transparent = hole
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    Image.fromarray(np.tile(np.array([0, 0, 255], np.uint8), (32, 32, 1))).save(tmp_path / "blue.png")
    out = tmp_path / "out.png"
    code = main(["inpaint", str(tmp_path / "in.png"), str(out), "--content-image", str(tmp_path / "blue.png"),
                 "--backbone", "vgg19_random", "--iterations", "1", "--plain", "--alpha", "0",
                 "--content-weights", str(tmp_path / "absent.safetensors"), "--device", "cpu", "--quiet"])
    assert code == 0
    result = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert result[44:68, 44:68, 2].mean() > 230 and result[44:68, 44:68, :2].mean() < 25
    assert (result[rgba[..., 3] == 255] == rgba[..., :3][rgba[..., 3] == 255]).all()
    code = main(["inpaint", str(tmp_path / "in.png"), str(out), "--content-image", str(tmp_path / "none.png"),
                 "--overwrite"])
    assert code == 2 and "--content-image" in capsys.readouterr().err


def test_fill_band_hold_makes_the_hole_agree_with_the_fill_at_its_resolution():
    g = torch.Generator().manual_seed(0)
    mask = square_mask(128, 32, 32, 64)
    x = 0.2 + 0.6 * torch.rand(1, 3, 128, 128, generator=g)
    fill = F.interpolate(striped_image(128, seed=1), size=(32, 32), mode="bilinear", antialias=True,
                         align_corners=False)  # a real fill: another image's content at 1/4 resolution
    band = FillBand(fill, mask, max_side=64, sigma=0.0)
    assert band.side == 32 and band.knows(32) and not band.knows(64)
    held = band.hold(x, mask)
    down = F.interpolate(held, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    inside = band.inside.expand_as(fill) > 0.5
    before = F.interpolate(x, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    assert (down - fill)[inside].abs().mean() < 0.1 * (before - fill)[inside].abs().mean()
    # the default compares through a blur: the fill's blurred band is held, its top octave is not
    soft = FillBand(fill, mask, max_side=64)
    down = F.interpolate(soft.hold(x, mask), size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    blur = soft.sigma
    assert blur > 0
    gap, start = gaussian_blur(down - fill, blur)[inside], gaussian_blur(before - fill, blur)[inside]
    assert gap.abs().mean() < 0.2 * start.abs().mean()
    hole = mask.expand_as(x) > 0.5
    assert torch.equal(held[~hole], x[~hole])
    # what the fill does not know (detail above its resolution) is kept
    detail = held - F.interpolate(down, size=(128, 128), mode="bilinear", align_corners=False)
    assert detail[hole].std() > 0.5 * (x - F.interpolate(before, size=(128, 128), mode="bilinear",
                                                         align_corners=False))[hole].std()


def test_fill_band_caps_a_full_resolution_fill():
    mask = square_mask(128, 32, 32, 64)
    band = FillBand(torch.rand(1, 3, 128, 128), mask, max_side=64)
    assert band.side == 64 and tuple(band.fill.shape[-2:]) == (64, 64)
    assert band.inside.sum() == 30 * 30  # fill pixels whose neighbours are all hole too


def test_refine_keeps_the_fills_band_and_adds_detail(random_texture):
    """A quarter-resolution fill of the truth, refined: it still down-samples to the fill, and it
    is closer to the truth than the up-scaled fill (the lost stripes' contrast comes back)."""
    truth = striped_image(256)
    mask = square_mask(256, 80, 80, 96)
    given = torch.where(mask > 0.5, torch.full_like(truth, 0.5), truth)
    fill = F.interpolate(truth, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
    res = inpaint(given, mask, texture=random_texture, iterations=5, content=fill)
    up = torch.where(mask > 0.5, F.interpolate(fill, size=(256, 256), mode="bilinear", align_corners=False), given)
    hole = mask.expand_as(truth) > 0.5

    def mse(a):
        return float(((a - truth)[hole] ** 2).mean())

    def grad(a):
        return float((a[..., 1:] - a[..., :-1]).abs()[hole[..., 1:]].mean())

    assert mse(res.image) < 0.5 * mse(up)  # 0.00042 vs 0.00254 (0.00234 without holding the band)
    down = F.interpolate(res.image, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
    assert (down - fill)[..., 21:43, 21:43].abs().mean() < 0.005  # 0.029 without holding the band
    assert abs(grad(res.image) - grad(truth)) < abs(grad(up) - grad(truth))
    assert torch.equal(res.image[~hole], given[~hole])
