"""More of the image as the synthesis's source (nps_core.source_region): geometry, blocked holes, no leaks."""

from __future__ import annotations

import pytest
import torch
from conftest import striped_image

from nps_core.errors import NPSInputError
from nps_core.pipeline import inpaint
from nps_core.pyramid import downsample_mask, resize_image
from nps_core.source_region import SourceRegion
from nps_core.synthesis import SynthesisSettings
from nps_core.window import crop_box


def region_of(image, hole, top, left, side, scale):
    def crop(y, x, h, w):
        return crop_box(image, y, x, h, w), crop_box(hole, y, x, h, w)

    return SourceRegion.around(crop, tuple(image.shape[-2:]), top, left, side, scale)


def test_region_is_clipped_to_the_image_and_absent_when_it_adds_nothing():
    image, hole = torch.rand(1, 3, 200, 300), torch.zeros(1, 1, 200, 300)
    region = region_of(image, hole, 40, 10, 64, 3.0)  # grows 64 px, clipped at the top and the left
    assert region.margins == (40, 64, 10, 64)
    assert tuple(region.image.shape) == (1, 3, 40 + 64 + 64, 10 + 64 + 64)
    assert torch.equal(region.image, image[:, :, 0:168, 0:138])
    assert region_of(image, hole, 40, 10, 64, 1.0) is None
    whole = torch.rand(1, 3, 64, 64)
    assert region_of(whole, torch.zeros(1, 1, 64, 64), 0, 0, 64, 3.0) is None  # the window is the image


def test_canvas_holds_the_level_window_exactly_and_blocks_the_other_holes():
    torch.manual_seed(0)
    image, hole = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    hole[..., 100:140, 100:140] = 1.0       # the window's own hole
    hole[..., 10:30, 200:230] = 1.0         # another hole, outside the window
    top, left, side = 64, 64, 128
    region = region_of(image, hole, top, left, side, 3.0)
    assert region.margins == (64, 64, 64, 64)
    size = 64                                # a level at half the window's scale
    win = crop_box(image, top, left, side, side)
    win_mask = crop_box(hole, top, left, side, side)
    image_l, mask_l = resize_image(win, size, mask=win_mask), downsample_mask(win_mask, size)
    reference = torch.where(mask_l > 0.5, torch.full_like(image_l, 0.3), image_l)
    canvas = region.canvas(image_l, mask_l, reference)
    assert (canvas.top, canvas.left, canvas.size) == (32, 32, 64)
    assert tuple(canvas.image.shape) == (1, 3, 128, 128)
    assert torch.equal(canvas.window(canvas.image), image_l)
    assert torch.equal(canvas.window(canvas.reference), reference)
    assert torch.equal(canvas.window(canvas.fill), mask_l) and canvas.fill.sum() == mask_l.sum()
    other = downsample_mask(hole, 128) > 0.5  # the whole region at this scale, window's hole cleared
    other[..., 32:96, 32:96] = False
    assert torch.equal(canvas.blocked, other)
    assert not bool(canvas.window(canvas.blocked).any())


def test_a_wider_source_never_takes_anything_from_another_hole(random_texture, content_net):
    image = striped_image(256)
    mask = torch.zeros(1, 1, 256, 256)
    mask[..., 40:72, 40:72] = 1.0      # hole A, its own 128 px window
    mask[..., 180:220, 170:210] = 1.0  # hole B, another window, inside A's wider source region
    settings = SynthesisSettings(source_scale=4.0, first_steps=2, steps=1)
    outs = []
    noise = torch.rand(image.shape, generator=torch.Generator().manual_seed(1))
    for fill in (torch.zeros_like(image), torch.ones_like(image), noise):
        given = torch.where(mask > 0.5, fill, image)
        outs.append(inpaint(given, mask, content_net=content_net, texture=random_texture, iterations=3,
                            synthesis=settings).image)
    assert all(torch.equal(o, outs[0]) for o in outs)
    narrow = inpaint(image, mask, content_net=content_net, texture=random_texture, iterations=3,
                     synthesis=SynthesisSettings(first_steps=2, steps=1)).image
    assert not torch.equal(narrow, outs[0])  # the wider source changed the fill


def test_a_window_that_covers_the_image_is_filled_the_same_with_any_source_scale(random_texture, content_net):
    image = striped_image(128)
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 40:88, 40:88] = 1.0
    runs = [inpaint(image, mask, content_net=content_net, texture=random_texture, iterations=3,
                    synthesis=SynthesisSettings(source_scale=s, first_steps=2, steps=1)).image for s in (1.0, 3.0)]
    assert torch.equal(runs[0], runs[1])


def test_describe_names_a_wider_source_only_when_there_is_one():
    assert "source" not in SynthesisSettings().describe()
    assert "source 2.5x the window" in SynthesisSettings(source_scale=2.5).describe()


@pytest.mark.parametrize("value", [0.5, float("nan"), "wide", 100.0])
def test_source_scale_outside_its_range_is_an_error_naming_it(value):
    with pytest.raises(NPSInputError, match="source_scale"):
        SynthesisSettings(source_scale=value)


def test_blocked_pixels_are_never_copied(random_texture):
    from nps_core.synthesis import Synthesiser

    image = striped_image(96)
    image[:, :, 4:28, 4:28] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]  # a red block, nowhere else
    mask = torch.zeros(1, 1, 96, 96)
    mask[..., 36:66, 36:66] = 1.0
    reference = torch.where(mask > 0.5, torch.tensor([1.0, 0.0, 0.0])[:, None, None], image)  # the hole "wants" red
    settings = SynthesisSettings(first_steps=2, query_noise=0.0, low_band_sigma=0.0)  # the copies as they are

    def red_share(out):
        hole = out[0][:, mask[0, 0] > 0.5]
        return float(((hole[0] > 0.9) & (hole[1] < 0.1) & (hole[2] < 0.1)).float().mean())

    free = Synthesiser(random_texture, settings).level(image, mask, reference, finest=True)
    blocked = torch.zeros(1, 1, 96, 96, dtype=torch.bool)
    blocked[..., 4:28, 4:28] = True
    kept_out = Synthesiser(random_texture, settings).level(image, mask, reference, finest=True, blocked=blocked)
    assert red_share(free) > 0.2   # left as a source, the red block is copied
    assert red_share(kept_out) == 0.0
