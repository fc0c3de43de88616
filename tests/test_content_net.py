"""Behaviour of nps_core.content: shapes, ranges, file format, cache, errors, helpers."""

import os
import time

import pytest
import torch

from nps_core import defaults
from nps_core.content import (
    ContentNet,
    ContentNetConfig,
    LiteEncoderContentNet,
    build_content_net,
    clear_content_net_cache,
    load_content_net,
    mean_fill,
    predict_content,
    prepare_input,
    random_content_net,
    read_content_net_metadata,
    save_content_net,
)
from nps_core.content.predict import dihedral_view, undo_view
from nps_core.errors import NPSInputError, NPSOptionError, NPSWeightsError
from nps_core.pyramid import resize_image

TINY = ContentNetConfig(size=32, channels=(8, 16, 16), bottleneck=32)


def test_default_config_matches_paper_layout():
    cfg = ContentNetConfig()
    assert cfg.size == 128 and cfg.in_channels == 4
    assert cfg.channels == (64, 64, 128, 256, 512)
    assert cfg.bottom_size == 4


def test_forward_shape_and_range():
    model = random_content_net(0, TINY)
    x = torch.rand(2, 4, 32, 32)
    y = model(x)
    assert y.shape == (2, 3, 32, 32)
    assert y.min() >= 0 and y.max() <= 1


def test_default_size_forward_shape():
    model = random_content_net(0)
    y = model(torch.rand(1, 4, 128, 128))
    assert y.shape == (1, 3, 128, 128)


def test_forward_rejects_wrong_shape():
    model = random_content_net(0, TINY)
    with pytest.raises(NPSInputError, match="expected"):
        model(torch.rand(1, 3, 32, 32))


def test_bad_config_is_rejected():
    with pytest.raises(NPSInputError, match="size"):
        ContentNetConfig(size=100, channels=(8, 16, 16))


def test_random_net_is_deterministic_under_seed():
    a = random_content_net(3, TINY)
    b = random_content_net(3, TINY)
    c = random_content_net(4, TINY)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), ka
    assert not torch.equal(a.encoder[0].weight, c.encoder[0].weight)


def test_random_net_does_not_disturb_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    random_content_net(9, TINY)
    assert torch.equal(torch.rand(3), expected)


def test_mean_fill_uses_known_pixel_mean():
    image = torch.zeros(2, 3, 4, 4)
    image[0, :, :, :2] = 0.2
    image[0, :, :, 2:] = 0.8
    image[1] = 0.4
    mask = torch.zeros(2, 1, 4, 4)
    mask[0, :, :, 3] = 1  # hole in the right column: known = 8 px at 0.2, 4 px at 0.8
    mask[1, :, 1:3, 1:3] = 1
    out = mean_fill(image, mask)
    expected0 = (8 * 0.2 + 4 * 0.8) / 12
    assert torch.allclose(out[0, :, :, 3], torch.full((3, 4), expected0))
    assert torch.equal(out[0, :, :, :3], image[0, :, :, :3])
    assert torch.allclose(out[1], torch.full((3, 4, 4), 0.4))
    assert image[0, 0, 0, 3] == 0.8  # input not mutated


def test_mean_fill_all_hole_gives_grey():
    out = mean_fill(torch.rand(1, 3, 5, 5), torch.ones(1, 1, 5, 5))
    assert torch.allclose(out, torch.full_like(out, 0.5))


def test_mean_fill_rejects_mismatched_mask():
    with pytest.raises(NPSInputError, match="mask"):
        mean_fill(torch.rand(1, 3, 8, 8), torch.zeros(1, 1, 4, 4))


def test_predict_content_any_size_and_device_kept():
    model = random_content_net(0, TINY)
    image = torch.rand(2, 3, 45, 70)
    mask = torch.zeros(2, 1, 45, 70)
    mask[:, :, 10:30, 20:50] = 1
    out = predict_content(model, image, mask)
    assert out.shape == (2, 3, 45, 70)
    assert out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    assert not out.requires_grad


@pytest.mark.parametrize("views", [2, 4, 8])
def test_predict_content_views_commute_with_the_flips_they_average(views):
    # Averaging over a group of flips makes any network equivariant to them; one view is not.
    model = random_content_net(3, TINY)
    image = torch.rand(1, 3, 40, 56)
    mask = torch.zeros(1, 1, 40, 56)
    mask[:, :, 8:30, 10:34] = 1
    ops = {2: [1], 4: [1, 2], 8: [1, 2, 4]}[views]
    for k in ops:
        turned = predict_content(model, dihedral_view(image, k), dihedral_view(mask, k), views=views)
        torch.testing.assert_close(undo_view(turned, k), predict_content(model, image, mask, views=views),
                                   atol=1e-5, rtol=0)
    single = predict_content(model, dihedral_view(image, 1), dihedral_view(mask, 1))
    assert (undo_view(single, 1) - predict_content(model, image, mask)).abs().max() > 1e-3


def test_predict_content_views_keep_shape_and_one_view_is_the_network_once():
    model = random_content_net(4, TINY)
    image, mask = torch.rand(2, 3, 45, 70), torch.zeros(2, 1, 45, 70)
    mask[:, :, 10:30, 20:50] = 1
    out = predict_content(model, image, mask, views=8)
    assert out.shape == (2, 3, 45, 70) and out.min() >= 0 and out.max() <= 1
    x, _ = prepare_input(image, mask, model.config.size)
    with torch.no_grad():
        once = resize_image(model(x), (45, 70))
    torch.testing.assert_close(predict_content(model, image, mask, views=1), once)


@pytest.mark.parametrize("views", [0, 3, 16, 2.0, True, "8"])
def test_predict_content_rejects_bad_view_counts(views):
    with pytest.raises(NPSOptionError, match="content_views"):
        predict_content(random_content_net(0, TINY), torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16), views=views)


def test_predict_content_restores_training_mode():
    model = random_content_net(0, TINY).train()
    predict_content(model, torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32))
    assert model.training


def test_save_load_round_trip_with_metadata(tmp_path):
    model = random_content_net(1, TINY)
    path = save_content_net(model, tmp_path / "net.safetensors", metadata={"steps": 42, "note": "hi"})
    meta = read_content_net_metadata(path)
    assert meta["steps"] == "42" and meta["note"] == "hi"
    loaded = load_content_net(path)
    assert loaded.config == TINY
    assert not loaded.training
    assert all(not p.requires_grad for p in loaded.parameters())
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.rand(1, 4, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=5e-3)


def test_save_float32_is_exact(tmp_path):
    model = random_content_net(1, TINY)
    path = save_content_net(model, tmp_path / "net32.safetensors", dtype=torch.float32)
    loaded = load_content_net(path)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_cache_hit_and_invalidation_on_change(tmp_path):
    clear_content_net_cache()
    path = save_content_net(random_content_net(1, TINY), tmp_path / "net.safetensors")
    a = load_content_net(path)
    b = load_content_net(str(path))
    assert a is b
    time.sleep(0.01)
    save_content_net(random_content_net(2, TINY), path)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    c = load_content_net(path)
    assert c is not a


def test_cache_is_bounded_and_keeps_one_version_per_file(tmp_path):
    from nps_core.content import weights_file

    clear_content_net_cache()
    paths = [save_content_net(random_content_net(i, TINY), tmp_path / f"n{i}.safetensors")
             for i in range(defaults.CONTENT_NET_CACHE_SIZE + 1)]
    first = load_content_net(paths[0])
    for path in paths[1:]:
        load_content_net(path)
    assert len(weights_file._CACHE) == defaults.CONTENT_NET_CACHE_SIZE
    assert load_content_net(paths[0]) is not first  # the least recently used was dropped
    save_content_net(random_content_net(9, TINY), paths[1])
    os.utime(paths[1], ns=(time.time_ns(), time.time_ns() + 10**9))
    load_content_net(paths[1])
    assert sum(key[0] == str(paths[1].resolve()) for key in weights_file._CACHE) == 1
    clear_content_net_cache()


def test_missing_file_error_names_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(NPSWeightsError, match="nope.safetensors"):
        load_content_net(path)


def test_corrupt_file_error_names_file(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"this is not a safetensors file at all")
    with pytest.raises(NPSWeightsError, match="bad.safetensors"):
        load_content_net(path)


def test_wrong_architecture_error(tmp_path):
    from safetensors.torch import save_file

    # tensors of the tiny net but no config metadata -> default config -> mismatch
    state = {k: v.contiguous() for k, v in random_content_net(0, TINY).state_dict().items()}
    path = tmp_path / "wrong.safetensors"
    save_file(state, str(path))
    with pytest.raises(NPSWeightsError, match="wrong.safetensors"):
        load_content_net(path)


def test_missing_tensor_error(tmp_path):
    from safetensors.torch import save_file

    model = random_content_net(0, TINY)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("decoder")}
    path = tmp_path / "partial.safetensors"
    save_file(state, str(path), metadata={"nps_content_net_config": TINY.to_json()})
    with pytest.raises(NPSWeightsError, match="partial.safetensors"):
        load_content_net(path)


def test_pt_file_loads_weights_only(tmp_path):
    model = random_content_net(5, TINY)
    path = tmp_path / "net.pt"
    torch.save({"state_dict": model.state_dict(), "config": TINY.to_json()}, path)
    loaded = load_content_net(path)
    assert loaded.config == TINY
    assert torch.equal(loaded.encoder[0].weight, model.encoder[0].weight)


def test_the_config_picks_the_network_class():
    assert type(build_content_net(TINY)) is ContentNet
    lite = ContentNetConfig(size=64, channels=(8, 8, 8, 8, 8), bottleneck=16, skips=True, residual=True,
                            residual_base="directional", encoder="efficientnet_lite0")
    model = build_content_net(lite)
    assert type(model) is LiteEncoderContentNet and model.config == lite


def test_skips_residual_variant_starts_at_mean_fill(tmp_path):
    cfg = ContentNetConfig(size=32, channels=(8, 16, 16), bottleneck=32, skips=True, residual=True)
    model = random_content_net(0, cfg)
    image = torch.rand(2, 3, 32, 32) * 0.9 + 0.05
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:24, 8:24] = 1
    out = predict_content(model, image, mask)
    assert torch.allclose(out, mean_fill(image, mask), atol=1e-5)
    path = save_content_net(model, tmp_path / "v.safetensors", dtype=torch.float32)
    assert load_content_net(path).config == cfg


def test_skips_change_the_function():
    base = ContentNetConfig(size=32, channels=(8, 16, 16), bottleneck=32)
    a = random_content_net(0, base)
    b = random_content_net(0, ContentNetConfig(size=32, channels=(8, 16, 16), bottleneck=32, skips=True))
    assert a.state_dict().keys() == b.state_dict().keys()
    x = torch.rand(1, 4, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))


def test_smooth_fill_keeps_known_and_interpolates():
    from nps_core.content import smooth_fill

    image = torch.zeros(1, 3, 16, 16)
    image[..., :8] = 1.0  # left half white, right half black
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 6:10] = 1
    out = smooth_fill(image, mask)
    assert torch.equal(out * (1 - mask), image * (1 - mask))
    assert out.min() >= 0 and out.max() <= 1
    row = out[0, 0, 8, 6:10]
    assert row[0] > row[-1]  # brighter next to the white side
    assert torch.allclose(smooth_fill(image, torch.ones(1, 1, 16, 16)), torch.full_like(image, 0.5))


def test_smooth_residual_variant_starts_at_smooth_fill():
    from nps_core.content import smooth_fill

    cfg = ContentNetConfig(size=32, channels=(8, 16, 16), bottleneck=32, skips=True, residual=True,
                           residual_base="smooth")
    model = random_content_net(0, cfg)
    image = torch.rand(1, 3, 32, 32) * 0.9 + 0.05
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 4:20, 10:30] = 1
    expected = smooth_fill(mean_fill(image, mask), mask)
    assert torch.allclose(predict_content(model, image, mask), expected, atol=1e-5)
    with pytest.raises(NPSInputError, match="residual_base"):
        ContentNetConfig(residual_base="telea")


def test_harmonic_fill_is_linear_between_borders():
    from nps_core.content import harmonic_fill

    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32).contiguous()
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    out = harmonic_fill(ramp, mask, iterations=(200, 50))
    assert torch.equal(out * (1 - mask), ramp * (1 - mask))
    assert (out - ramp).abs().max() < 0.02  # a linear ramp is harmonic: recovered inside the hole


def test_harmonic_residual_variant_starts_at_harmonic_fill_after_a_round_trip(tmp_path):
    from nps_core.content import harmonic_fill

    cfg = ContentNetConfig(size=32, channels=(8, 16, 16), bottleneck=32, skips=True, residual=True,
                           residual_base="harmonic")
    path = save_content_net(random_content_net(0, cfg), tmp_path / "h.safetensors")  # fp16 file
    loaded = load_content_net(path)
    image = torch.rand(1, 3, 32, 32) * 0.9 + 0.05
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 6:22, 4:28] = 1
    expected = harmonic_fill(mean_fill(image, mask), mask)
    assert torch.allclose(predict_content(loaded, image, mask), expected, atol=1e-5)
    # a whole-image hole has no known colour: the mean fill and so the prediction are mid grey
    grey = predict_content(loaded, torch.rand(1, 3, 40, 40), torch.ones(1, 1, 40, 40))
    assert torch.allclose(grey, torch.full_like(grey, 0.5), atol=1e-5)
