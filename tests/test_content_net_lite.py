"""The content network variant with a frozen ImageNet EfficientNet-Lite0 encoder."""

import pytest
import torch
from test_train import _settings, data_dirs  # noqa: F401 - fixture reused

from nps_core.backbones import efficientnet_lite0 as effnet
from nps_core.content import (
    ContentNetConfig,
    build_content_net,
    clear_content_net_cache,
    harmonic_fill,
    lite_net,
    load_content_net,
    predict_content,
    save_content_net,
)
from nps_core.content.lite_net import LiteEncoderContentNet
from nps_core.errors import NPSInputError
from nps_core.train.trainer import Trainer

LITE = ContentNetConfig(size=64, channels=(8, 8, 16, 16, 16), bottleneck=16, skips=True, residual=True,
                        residual_base="harmonic", encoder="efficientnet_lite0")
LITE_TRAIN = dict(size=64, channels=(8, 8, 16, 16, 16), bottleneck=16, skips=True, residual=True,
                  residual_base="harmonic", encoder="efficientnet_lite0")


def _input(batch=2, size=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 4, size, size, generator=gen)
    x[:, 3:] = 0.0
    x[:, 3:, size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1.0
    return x


def _encoder_state(model):
    return {k: v.clone() for k, v in model.encoder.state_dict().items()}


def _randomise_decoder(model, seed=3):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.trainable_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)


@pytest.mark.parametrize("bad", [dict(channels=(8, 16)), dict(skips=False), dict(residual=False)])
def test_config_rejects_layouts_the_encoder_cannot_serve(bad):
    fields = {**LITE_TRAIN, **bad}
    fields.pop("size")
    with pytest.raises(NPSInputError, match="efficientnet_lite0"):
        ContentNetConfig(size=64, **fields)


def test_unknown_encoder_is_rejected():
    with pytest.raises(NPSInputError, match="encoder"):
        ContentNetConfig(encoder="resnet")


def test_old_config_json_without_encoder_reads_as_conv():
    text = ContentNetConfig().to_json().replace(', "encoder": "conv"', "")
    assert "encoder" not in text
    assert ContentNetConfig.from_json(text).encoder == "conv"


def test_untrained_network_returns_its_harmonic_base():
    model = build_content_net(LITE).eval()
    assert isinstance(model, LiteEncoderContentNet)
    x = _input()
    with torch.no_grad():
        out = model(x)
    base = harmonic_fill(x[:, :3], x[:, 3:]).clamp(0.01, 0.99)
    assert out.shape == (2, 3, 64, 64)
    assert torch.allclose(out, base, atol=1e-5)


def test_wrong_input_shape_names_the_fix():
    model = build_content_net(LITE)
    with pytest.raises(NPSInputError, match="predict_content"):
        model(torch.rand(1, 4, 32, 32))


def test_encoder_is_frozen_and_stays_in_eval_mode():
    model = build_content_net(LITE)
    model.train()
    assert not model.encoder.training
    assert all(not m.training for m in model.encoder.modules())
    assert model.bottleneck.training
    trainable = {id(p) for p in model.trainable_parameters()}
    assert trainable and not any(id(p) in trainable for p in model.encoder.parameters())
    assert all(not p.requires_grad for p in model.encoder.parameters())


def test_decoder_learns_while_encoder_weights_and_statistics_stay(data_dirs, tmp_path):  # noqa: F811
    trainer = Trainer(_settings(data_dirs, tmp_path / "lite", **LITE_TRAIN))
    before_enc = _encoder_state(trainer.model)
    before_out = trainer.model.output_layer.weight.detach().clone()
    for _ in range(2):
        trainer.train_step()
    trainer.validate()  # recalibrates the decoder's BatchNorm statistics
    after_enc = trainer.model.encoder.state_dict()
    for key, value in before_enc.items():
        assert torch.equal(after_enc[key], value), key
    assert not torch.equal(trainer.model.output_layer.weight, before_out)


def test_trainer_starts_from_the_imagenet_encoder(data_dirs, tmp_path):  # noqa: F811
    try:
        path = effnet.package_weights_path()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"ImageNet weights package not installed: {exc}")
    reference = effnet.read_package_state_dict(path)
    trainer = Trainer(_settings(data_dirs, tmp_path / "init", **LITE_TRAIN))
    stem = trainer.model.encoder.stem.conv.weight.detach().cpu()
    assert torch.equal(stem, reference["_conv_stem.weight"].float())


def test_saved_file_is_self_contained(tmp_path, monkeypatch):
    model = build_content_net(LITE)
    _randomise_decoder(model)
    path = save_content_net(model, tmp_path / "lite.safetensors", metadata={"trained": "true"})

    def _no_package():
        raise AssertionError("loading an exported file must not need the ImageNet weights package")

    monkeypatch.setattr(effnet, "package_weights_path", _no_package)
    monkeypatch.setattr(lite_net.effnet, "package_weights_path", _no_package)
    clear_content_net_cache()
    loaded = load_content_net(path)
    assert loaded.config == LITE
    x = _input(seed=1)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=5e-3)


def test_predict_content_accepts_any_size_and_keeps_the_input():
    model = build_content_net(LITE).eval()
    _randomise_decoder(model)
    image = torch.rand(1, 3, 90, 70)
    mask = torch.zeros(1, 1, 90, 70)
    mask[..., 30:60, 20:50] = 1.0
    image_copy = image.clone()
    out = predict_content(model, image, mask)
    assert out.shape == (1, 3, 90, 70)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert torch.equal(image, image_copy)


def test_directional_base_starts_as_a_fixed_mix_of_harmonic_and_line_fills():
    from nps_core.content.directional_fill import DIRECTIONS, directional_fills
    from nps_core.content.lite_net import HARMONIC_START_LOGIT

    config = ContentNetConfig(**{**LITE_TRAIN, "residual_base": "directional"})
    model = build_content_net(config).eval()
    x = _input()
    with torch.no_grad():
        out = model(x)
    rgb, mask = x[:, :3], x[:, 3:]
    harmonic = harmonic_fill(rgb, mask).clamp(0.01, 0.99)
    lines = directional_fills(rgb, mask, harmonic)
    w_h = torch.softmax(torch.tensor([HARMONIC_START_LOGIT] + [0.0] * len(DIRECTIONS)), 0)
    expected = (w_h[0] * harmonic + w_h[1] * lines.sum(dim=1)).clamp(0.01, 0.99)
    assert torch.allclose(out, expected, atol=1e-5)


def test_directional_base_needs_the_lite_encoder():
    with pytest.raises(NPSInputError, match="directional"):
        ContentNetConfig(skips=True, residual=True, residual_base="directional")
