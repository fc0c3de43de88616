"""Behaviour of nps_core.train: masks, data loading, training step, checkpoint/resume, export."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nps_core.content import (
    ContentNetConfig,
    load_content_net,
    random_content_net,
    read_content_net_metadata,
    save_content_net,
)
from nps_core.train.cli import main as train_main
from nps_core.train.data import batch_for_step, fixed_eval_set, load_photo_set
from nps_core.train.masks import AREA_RANGE, MASK_KINDS, centre_square_mask, make_mask, sample_mask
from nps_core.train.metrics import hole_errors
from nps_core.train.trainer import Trainer, TrainSettings

TINY = dict(size=32, channels=(8, 16), bottleneck=16, disc_channels=(8, 16), batch=4, cache_side=64, threads=1,
            lr=1e-3, val_samples=6, val_every=2, log_every=1)


def _write_images(folder, n=4, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:60, 0:90]
    for i in range(n):
        base = np.stack([np.sin(xx / (5 + i)), np.cos(yy / (7 + i)), np.sin((xx + yy) / 9)], -1)
        arr = ((base * 0.4 + 0.5 + rng.normal(0, 0.05, base.shape)).clip(0, 1) * 255).astype(np.uint8)
        sub = folder / ("sub" if i % 2 else "")
        sub.mkdir(exist_ok=True)
        Image.fromarray(arr).save(sub / f"img{i}.{'png' if i % 2 else 'jpg'}")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return folder


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    return _write_images(root / "train", 4, 0), _write_images(root / "val", 2, 1)


def _cli_args(data_dirs, run_dir, val_every):
    """Command-line arguments of a tiny training run (see TINY)."""
    train, val = data_dirs
    return ["--data", str(train), "--val-data", str(val), "--run-dir", str(run_dir), "--size", "32",
            "--channels", "8,16", "--bottleneck", "16", "--disc-channels", "8,16", "--batch", "2",
            "--cache-side", "64", "--threads", "1", "--val-every", str(val_every), "--val-samples", "4",
            "--init", "none"]


def _settings(data_dirs, run_dir, **kw):
    train, val = data_dirs
    return TrainSettings(data=str(train), val_data=str(val), run_dir=str(run_dir), **{**TINY, **kw})


# ---------------------------------------------------------------- masks
@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("size", [64, 128])
def test_mask_area_in_range(kind, size):
    rng = np.random.default_rng(7)
    for _ in range(40):
        m = make_mask(kind, rng, size)
        assert m.shape == (size, size) and m.dtype == np.float32
        assert set(np.unique(m)) <= {0.0, 1.0}
        assert AREA_RANGE[0] <= m.mean() <= AREA_RANGE[1]


def test_centre_square_is_papers_hole():
    m = centre_square_mask(None, 128)
    assert m.sum() == 64 * 64 and m[32:96, 32:96].all()


def test_sample_mask_is_seeded():
    a = sample_mask(np.random.default_rng(3), 64)
    b = sample_mask(np.random.default_rng(3), 64)
    assert np.array_equal(a, b)


# ---------------------------------------------------------------- data
def test_loader_skips_corrupt_file_with_one_warning(data_dirs, capsys):
    photos = load_photo_set(data_dirs[0], cache_side=64)
    assert len(photos) == 4
    err = capsys.readouterr().err
    assert err.count("skipping") == 1 and "corrupt.jpg" in err
    assert all(p.ndim == 3 and p.shape[2] == 3 and p.dtype == np.uint8 for p in photos.photos)
    assert all(min(p.shape[:2]) <= 64 for p in photos.photos)


def test_loader_raises_when_nothing_readable(tmp_path):
    (tmp_path / "x.png").write_bytes(b"nope")
    with pytest.raises(FileNotFoundError, match="no readable images"):
        load_photo_set(tmp_path)


def test_batches_are_deterministic_per_step(data_dirs):
    photos = load_photo_set(data_dirs[0], cache_side=64, log=False)
    a_img, a_mask = batch_for_step(photos, 0, 5, 3, 32)
    b_img, b_mask = batch_for_step(photos, 0, 5, 3, 32)
    c_img, _ = batch_for_step(photos, 0, 6, 3, 32)
    assert a_img.shape == (3, 3, 32, 32) and a_mask.shape == (3, 1, 32, 32)
    assert torch.equal(a_img, b_img) and torch.equal(a_mask, b_mask)
    assert not torch.equal(a_img, c_img)
    assert a_img.min() >= 0 and a_img.max() <= 1


def test_fixed_eval_set_is_reproducible(data_dirs):
    photos = load_photo_set(data_dirs[1], cache_side=64, log=False)
    a = fixed_eval_set(photos, 32, per_image=3)
    b = fixed_eval_set(photos, 32, per_image=3)
    assert a[0].shape == (6, 3, 32, 32)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert sorted(set(a[2])) == sorted(MASK_KINDS)


def test_hole_metrics_ignore_known_pixels():
    truth = torch.zeros(1, 3, 4, 4)
    pred = torch.ones(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    pred[..., :2, :] = 0.1
    e = hole_errors(pred, truth, mask)
    assert torch.allclose(e["l1"], torch.tensor([0.1]))
    assert torch.allclose(e["l2"], torch.tensor([0.01]))
    assert torch.allclose(e["psnr"], torch.tensor([20.0]))


# ---------------------------------------------------------------- training
def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_steps_are_finite_and_resume_is_exact(data_dirs, tmp_path):
    a = Trainer(_settings(data_dirs, tmp_path / "a"))
    for _ in range(2):
        losses = a.train_step()
        assert all(np.isfinite(v) for v in losses.values())
    a.save_checkpoint()
    a.train_step()
    expected_g, expected_d = _params(a.model), _params(a.disc)

    b = Trainer(_settings(data_dirs, tmp_path / "a"))
    b.load_checkpoint()
    assert b.step == 2
    b.train_step()
    for k, v in expected_g.items():
        assert torch.equal(b.model.state_dict()[k], v), k
    for k, v in expected_d.items():
        assert torch.equal(b.disc.state_dict()[k], v), k


def test_validation_and_export_loads(data_dirs, tmp_path):
    t = Trainer(_settings(data_dirs, tmp_path / "r"))
    t.train_step()
    val = t.validate()
    assert set(val) == {"l1", "l2", "psnr"} and np.isfinite(val["psnr"])
    path = t.export(tmp_path / "exported.safetensors", val)
    model = load_content_net(path)
    assert model.config == ContentNetConfig(size=32, channels=(8, 16), bottleneck=16)
    assert read_content_net_metadata(path)["trained"] == "true"
    x = torch.rand(2, 4, 32, 32)
    t.model.eval()
    with torch.no_grad():
        assert torch.allclose(model(x), t.model(x), atol=5e-3)


def test_warm_start_skips_placeholder_and_uses_trained(data_dirs, tmp_path):
    cfg = ContentNetConfig(size=32, channels=(8, 16), bottleneck=16)
    placeholder = save_content_net(random_content_net(1, cfg), tmp_path / "p.safetensors",
                                   metadata={"random_init": "true"})
    trained = save_content_net(random_content_net(2, cfg), tmp_path / "t.safetensors", metadata={"trained": "true"})
    t = Trainer(_settings(data_dirs, tmp_path / "w"))
    assert not t.warm_start(placeholder)
    assert t.warm_start(trained)
    ref = load_content_net(trained)
    assert torch.equal(t.model.encoder[0].weight.detach(), ref.encoder[0].weight)


def test_cli_train_resume_and_export(data_dirs, tmp_path):
    run = tmp_path / "cli"
    common = _cli_args(data_dirs, run, val_every=2)
    assert train_main(common + ["--max-steps", "2"]) == 0
    assert train_main(common + ["--max-steps", "3"]) == 2  # refuses to overwrite without --resume
    assert train_main(common + ["--max-steps", "3", "--resume"]) == 0
    ck = torch.load(run / "checkpoint_last.pt", weights_only=True)
    assert ck["step"] == 3
    out = tmp_path / "out.safetensors"
    assert train_main(["--run-dir", str(run), "--export", str(out), "--export-from", "last"]) == 0
    assert load_content_net(out).config.channels == (8, 16)
    assert train_main(["--run-dir", str(run), "--export", str(tmp_path / "best.safetensors")]) == 0
    assert load_content_net(tmp_path / "best.safetensors").config.size == 32
    # one metadata schema: a checkpoint export and the trainer's own export carry the same keys
    from_checkpoint = read_content_net_metadata(out)
    from_trainer = read_content_net_metadata(tmp_path / "best.safetensors")
    assert set(from_checkpoint) == set(from_trainer)
    assert json.loads(from_checkpoint["steps"]) == 3 and from_checkpoint["batch"] == from_trainer["batch"]
    assert set(json.loads(from_checkpoint["settings"])) == set(json.loads(from_trainer["settings"]))


def test_learning_rate_decay_schedule(data_dirs, tmp_path):
    t = Trainer(_settings(data_dirs, tmp_path / "lr", decay_from=10, decay_to=20))
    assert t.lr_factor(5) == 1.0 and t.lr_factor(10) == 1.0
    assert abs(t.lr_factor(15) - 0.55) < 1e-9
    assert abs(t.lr_factor(20) - 0.1) < 1e-9 and abs(t.lr_factor(99) - 0.1) < 1e-9


def test_photos_are_drawn_in_proportion_to_their_area():
    from nps_core.train.data import PhotoSet

    big = np.zeros((300, 400, 3), np.uint8)
    small = np.full((100, 100, 3), 255, np.uint8)
    photos = PhotoSet([big, small], ["big.jpg", "small.jpg"])
    assert np.allclose(photos.area_weights(), [12 / 13, 1 / 13])
    images = torch.cat([batch_for_step(photos, 0, step, 32, 64)[0] for step in range(20)])
    white_share = float((images.mean(dim=(1, 2, 3)) > 0.5).float().mean())
    assert 0.02 < white_share < 0.16  # 1/13 = 0.077 expected; uniform drawing would give 0.5


def test_cli_export_of_last_recalibrates_batchnorm_when_given_data(data_dirs, tmp_path):
    import json

    run = tmp_path / "recal"
    common = _cli_args(data_dirs, run, val_every=100)
    assert train_main(common + ["--max-steps", "2"]) == 0
    ck = torch.load(run / "checkpoint_last.pt", weights_only=True)
    out = tmp_path / "recal.safetensors"
    assert train_main(common + ["--export", str(out), "--export-from", "last"]) == 0
    meta = read_content_net_metadata(out)
    assert set(json.loads(meta["val"])) == {"l1", "l2", "psnr"}
    assert json.loads(meta["steps"]) == 2
    model = load_content_net(out)
    key = next(k for k in ck["model"] if k.endswith("running_mean"))
    assert not torch.allclose(model.state_dict()[key], ck["model"][key].float(), atol=1e-3)
