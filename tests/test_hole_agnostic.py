"""The pixels under the mask never reach the result.

Whatever the hole holds (white, black, noise or the true picture), every stage that sees a window
with a hole -- mask-aware down-sampling, the content network's input, the whole coarse-to-fine
pipeline (with its default synthesis step; tests/test_synthesis.py checks the step on its own) and
the NPS Pyramid Down node -- gives the same answer. Small images, few iterations,
the `vgg19_random` backbone and a seeded random content network (CPU only).
"""

from __future__ import annotations

import dataclasses
import tempfile

import comfy_stubs
import pytest
import torch
from conftest import square_mask, striped_image

from nps_core.content import predict_content, prepare_input
from nps_core.pipeline import inpaint
from nps_core.pyramid import downsample_mask, resize_image

comfy_stubs.install(tempfile.mkdtemp(prefix="nps_models_"))

FILLS = ("white", "black", "noise", "truth")


def with_hole(image: torch.Tensor, mask: torch.Tensor, fill: str) -> torch.Tensor:
    """A copy of image [B,3,H,W] whose hole (mask [B,1,H,W] or [B,H,W], 1 = hole) holds `fill`."""
    if mask.dim() == 3:
        mask = mask[:, None]
    hole = (mask > 0.5).expand_as(image)
    if fill == "truth":
        return image.clone()
    if fill == "white":
        other = torch.ones_like(image)
    elif fill == "black":
        other = torch.zeros_like(image)
    else:
        other = torch.rand(image.shape, generator=torch.Generator().manual_seed(7))
    return torch.where(hole, other, image)


def max_spread(outputs) -> float:
    """Largest absolute difference of any output from the first."""
    return max(float((o - outputs[0]).abs().max()) for o in outputs)


def border_mask(size: int) -> torch.Tensor:
    """A half-size hole touching the top edge (its window is reflect-padded above the image)."""
    m = torch.zeros(1, 1, size, size)
    m[..., 0 : size // 2, size // 16 : size // 16 + size // 2] = 1.0
    return m


# ----------------------------------------------------------------------------- down-sampling


@pytest.mark.parametrize("src, dst", [(192, 128), (256, 128), (256, 64), (100, 64), (160, 128), (128, 128)])
def test_resize_image_known_pixels_ignore_the_hole(src, dst):
    image = striped_image(src, batch=2)
    mask = torch.cat([square_mask(src, src // 4, src // 3, src // 3), border_mask(src)])
    known_small = downsample_mask(mask, dst).expand(-1, 3, -1, -1) < 0.5
    outs = [resize_image(with_hole(image, mask, f), dst, mask=mask) for f in FILLS]
    for out in outs:
        assert out.shape == (2, 3, dst, dst) and 0 <= out.min() and out.max() <= 1
        assert torch.equal(out[known_small], outs[0][known_small])
        assert torch.equal(out, outs[0])  # hole pixels too: the output never reads the hole
    if src != dst:  # the plain (mask-less) resize does leak: the test above can fail
        plain = [resize_image(with_hole(image, mask, f), dst) for f in ("white", "black")]
        assert not torch.equal(plain[0][known_small], plain[1][known_small])


def test_resize_image_mask_keeps_known_colours_and_defines_the_deep_hole():
    image = torch.full((1, 3, 256, 256), 0.3)
    mask = square_mask(256, 64, 64, 128)
    out = resize_image(with_hole(image, mask, "white"), 64, mask=mask)
    small_hole = downsample_mask(mask, 64).expand_as(out) > 0.5
    assert torch.allclose(out[~small_hole], torch.full_like(out[~small_hole], 0.3), atol=1e-6)
    assert torch.all(out[..., 24:40, 24:40] == 0.5)  # no known support at all: mid grey


def test_resize_image_with_empty_mask_matches_plain_resize():
    image = striped_image(192)
    plain = resize_image(image, 128)
    masked = resize_image(image, 128, mask=torch.zeros(1, 1, 192, 192))
    assert torch.allclose(plain, masked, atol=1e-6)
    assert torch.equal(resize_image(image, 192, mask=torch.zeros(1, 1, 192, 192)), image)


def test_resize_image_with_mask_up_and_non_square():
    image = striped_image(96)[..., :80]
    mask = torch.zeros(1, 1, 96, 80)
    mask[..., 30:60, 20:50] = 1
    for hw in ((48, 40), (150, 120)):
        outs = [resize_image(with_hole(image, mask, f), hw, mask=mask) for f in FILLS]
        assert all(torch.equal(o, outs[0]) for o in outs) and outs[0].shape[-2:] == hw


# ----------------------------------------------------------------------------- content network


@pytest.mark.parametrize("size", [128, 256, 200])
def test_content_net_prediction_ignores_the_hole(content_net, size):
    image = striped_image(size)
    mask = square_mask(size, size // 4, size // 4, size // 2)
    xs = [prepare_input(with_hole(image, mask, f), mask, 128)[0] for f in FILLS]
    assert all(torch.equal(x, xs[0]) for x in xs)
    preds = [predict_content(content_net, with_hole(image, mask, f), mask) for f in FILLS]
    assert all(torch.equal(p, preds[0]) for p in preds)


# ----------------------------------------------------------------------------- whole pipeline


@pytest.mark.parametrize(
    "case, alpha",
    [("centre", 0.0), ("centre", 1.0), ("border", 1.0)],
    ids=["centre-no-texture", "centre-texture", "border-texture"],
)
def test_pipeline_result_ignores_the_hole(random_texture, content_net, case, alpha):
    size = 192  # a 192 px window: levels 128 and 192
    image = striped_image(size)
    mask = square_mask(size, 48, 48, 96) if case == "centre" else border_mask(size)
    texture = dataclasses.replace(random_texture, max_sources=256) if alpha > 0 else None
    results = []
    for fill in FILLS:
        res = inpaint(with_hole(image, mask, fill), mask, content_net=content_net,
                      texture=texture, alpha=alpha, iterations=3)
        results.append(res.image)
    assert len(res.levels) == 2  # a coarse level: the window is really down-sampled
    assert res.synthesis.enabled and all(r.synthesis_seconds > 0 for r in res.levels)  # the default synthesises
    assert max_spread(results) <= 1.0 / 255


# ----------------------------------------------------------------------------- nodes


def test_crop_window_pads_hole_pixels_as_hole():
    from nps_core.window import crop_window, plan_window

    image = striped_image(96)
    mask = border_mask(96)
    window = plan_window(mask, scale=2.0, min_size=64)
    assert min(window.tops + window.lefts) < 0  # the window leaves the image
    crops = [crop_window(with_hole(image, mask, f), window) for f in FILLS]
    known = crop_window(mask, window).expand_as(crops[0]) < 0.5
    assert all(torch.equal(c[known], crops[0][known]) for c in crops)


def test_pyramid_down_node_ignores_the_hole():
    node = comfy_stubs.node_classes(comfy_stubs.load_pack())["NPSPyramidDown"]
    image = striped_image(192).permute(0, 2, 3, 1)  # ComfyUI IMAGE [B,H,W,3]
    mask = square_mask(192, 40, 56, 80)[:, 0]  # ComfyUI MASK [B,H,W]
    outs = []
    with torch.inference_mode():
        for fill in FILLS:
            filled = with_hole(image.permute(0, 3, 1, 2), mask, fill).permute(0, 2, 3, 1)
            outs.append(node.execute(filled, mask, 128).args)
    assert all(torch.equal(o[1], outs[0][1]) for o in outs)
    assert all(torch.equal(o[0], outs[0][0]) for o in outs)
