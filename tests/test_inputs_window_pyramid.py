"""Input preparation, context window and pyramid geometry."""

import pytest
import torch
from conftest import square_mask, striped_image

from nps_core.errors import NPSInputError
from nps_core.inputs import bchw_to_comfy_image, broadcast_pair, comfy_image_to_bchw, prepare_mask
from nps_core.pyramid import downsample_mask, level_sizes, resize_image
from nps_core.window import crop_window, plan_window, stitch_window


def test_comfy_layout_round_trip_and_fp16():
    img = torch.rand(2, 40, 50, 3).half()
    x = comfy_image_to_bchw(img)
    assert x.shape == (2, 3, 40, 50) and x.dtype == torch.float32
    back = bchw_to_comfy_image(x)
    assert back.shape == (2, 40, 50, 3)
    assert torch.allclose(back, img.float())


def test_comfy_image_drops_alpha_and_rejects_nan():
    rgba = torch.rand(1, 8, 8, 4)
    assert torch.equal(comfy_image_to_bchw(rgba), rgba[..., :3].permute(0, 3, 1, 2))
    bad = torch.rand(1, 8, 8, 3)
    bad[0, 1, 1, 1] = float("nan")
    with pytest.raises(NPSInputError, match="NaN"):
        comfy_image_to_bchw(bad)
    with pytest.raises(NPSInputError, match=r"\[B,H,W,3\]"):
        comfy_image_to_bchw(torch.rand(1, 3, 8, 8, 2))


def test_prepare_mask_resizes_thresholds_and_broadcasts():
    soft = torch.zeros(1, 64, 64)
    soft[:, 16:48, 16:48] = 0.7
    soft[:, 0:4, 0:4] = 0.3
    m = prepare_mask(soft, (128, 128), batch=3, threshold=0.5)
    assert m.shape == (3, 1, 128, 128)
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    assert m[0, 0, 64, 64] == 1 and m[0, 0, 2, 2] == 0
    assert torch.equal(m[0], m[2])


def test_mismatched_batches_are_a_clear_error():
    with pytest.raises(NPSInputError, match="batch size 2"):
        broadcast_pair(torch.rand(3, 3, 16, 16), torch.zeros(2, 16, 16))


def test_level_sizes_follow_the_paper():
    assert level_sizes(512) == [128, 256, 512]
    assert level_sizes(128) == [128]
    assert len(level_sizes(2048)) == 5 and level_sizes(2048)[-1] == 2048
    sizes = level_sizes(304)
    assert sizes[0] == 128 and sizes[-1] == 304 and all(s % 8 == 0 for s in sizes)


def test_mask_downsampling_is_conservative():
    m = torch.zeros(1, 1, 512, 512)
    m[..., 101:103, 300:301] = 1  # a tiny hole must survive down-sampling
    small = downsample_mask(m, 128)
    assert small.sum() >= 1
    # every low-res known pixel has only known pixels in its footprint
    up = torch.nn.functional.interpolate(small, size=(512, 512), mode="nearest")
    assert torch.all(up >= m)


def test_image_resize_shapes_and_range():
    img = striped_image(256)
    d = resize_image(img, 128)
    u = resize_image(d, 256)
    assert d.shape == (1, 3, 128, 128) and u.shape == (1, 3, 256, 256)
    assert d.min() >= 0 and u.max() <= 1


def test_window_is_twice_the_hole_and_centred():
    mask = square_mask(512, 128, 128, 256)
    w = plan_window(mask)
    assert w.size == 512 and w.tops == (0,) and w.lefts == (0,)
    small = plan_window(square_mask(512, 10, 400, 20))
    assert small.size == 128  # never smaller than 128


def test_crop_reflects_outside_and_stitch_keeps_known_pixels_exact():
    img = striped_image(100)
    mask = square_mask(100, 0, 70, 30)  # touches the top and right borders
    w = plan_window(mask)
    crop = crop_window(img, w)
    assert crop.shape == (1, 3, w.size, w.size)
    result = torch.rand(1, 3, w.size, w.size)
    out = stitch_window(img, mask, result, w)
    known = mask.expand_as(img) < 0.5
    assert torch.equal(out[known], img[known])
    t, left = w.tops[0], w.lefts[0]
    assert torch.equal(out[0, :, 5, 80], result[0, :, 5 - t, 80 - left])
    assert not img.requires_grad and torch.equal(img, striped_image(100))


def test_feather_blends_only_near_the_hole():
    img = striped_image(128)
    mask = square_mask(128, 48, 48, 32)
    w = plan_window(mask)
    out = stitch_window(img, mask, torch.zeros(1, 3, w.size, w.size), w, feather=4)
    assert torch.equal(out[..., :40, :], img[..., :40, :])
    assert not torch.equal(out[..., 44:48, 50], img[..., 44:48, 50])


def test_batch_window_shares_side_but_not_position():
    mask = torch.cat([square_mask(256, 10, 10, 40), square_mask(256, 150, 160, 80)])
    w = plan_window(mask)
    assert w.size == 160 and w.tops[0] != w.tops[1]
    assert crop_window(torch.rand(2, 3, 256, 256), w).shape == (2, 3, 160, 160)
