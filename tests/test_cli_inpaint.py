"""`python -m nps_core inpaint`: argument handling, checks before compute, the files it reads and writes.

Runs in-process through `nps_core.cli.main` with a seeded random content network and the plain,
content-only fill (alpha 0, no synthesis, 1 iteration) so that each run takes well under a second;
one test goes through the texture backbone and one through a real `python -m` subprocess.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT, striped_image
from PIL import Image
from test_image_io import png_header_only

import nps_core.pipeline as pipeline
from nps_core.cli import main
from nps_core.content import random_content_net, save_content_net

SIZE = 48


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_inpaint")
    rgb = (striped_image(SIZE)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    rgba = np.dstack([rgb, np.full((SIZE, SIZE), 255, np.uint8)])
    rgba[14:30, 16:34, 3] = 0  # transparent = hole
    Image.fromarray(rgba, "RGBA").save(folder / "holed.png")
    Image.fromarray(rgb).save(folder / "photo.png")
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[10:26, 12:30] = 255
    Image.fromarray(mask).save(folder / "mask.png")
    save_content_net(random_content_net(seed=0), folder / "net.safetensors")
    return folder


def fast(files):
    return ["--content-weights", str(files / "net.safetensors"), "--device", "cpu", "--quiet",
            "--alpha", "0", "--plain", "--iterations", "1"]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def no_compute(monkeypatch):
    """Checks must fail before any compute: calling the pipeline fails the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError("inpaint() was called although the command line was invalid")

    monkeypatch.setattr(pipeline, "inpaint", forbidden)


# ----------------------------------------------------------------------------- what it writes

def test_transparent_hole_input_writes_a_png_with_known_pixels_exact(files, tmp_path, capsys):
    out = tmp_path / "filled.png"
    code, stdout, _ = run(["inpaint", files / "holed.png", out, *fast(files)], capsys)
    assert code == 0 and f"wrote {out}" in stdout
    src = np.asarray(Image.open(files / "holed.png"))
    res = Image.open(out)
    assert res.format == "PNG" and res.mode == "RGBA" and res.size == (SIZE, SIZE)
    res = np.asarray(res)
    known = src[..., 3] == 255
    assert np.array_equal(res[known], src[known])
    assert (res[..., 3] == 255).all()  # the filled hole is opaque
    assert not np.array_equal(res[~known, :3], src[~known, :3])  # the hole was filled


def test_image_mask_out_with_a_report(files, tmp_path, capsys):
    out, report = tmp_path / "o.png", tmp_path / "new" / "report.json"
    code, _, _ = run(["inpaint", files / "photo.png", files / "mask.png", out, *fast(files), "--report", report],
                     capsys)
    assert code == 0
    src, res = np.asarray(Image.open(files / "photo.png")), np.asarray(Image.open(out))
    known = np.asarray(Image.open(files / "mask.png")) < 128
    assert Image.open(out).mode == "RGB" and np.array_equal(res[known], src[known])
    data = json.loads(report.read_text())
    assert data["levels"] and data["synthesis_settings"]["steps"] == 0


def test_with_the_texture_backbone_and_progress(files, tmp_path, capsys):
    out = tmp_path / "t.png"
    code, _, err = run(["inpaint", files / "holed.png", out, "--content-weights", files / "net.safetensors",
                        "--device", "cpu", "--backbone", "vgg19_random", "--iterations", "2",
                        "--synthesis-steps", "1"], capsys)
    assert code == 0 and "level 1/1" in err and "hole: the transparent pixels" in err
    assert Image.open(out).size == (SIZE, SIZE)


def test_exif_rotated_input_mask_drawn_upright_output_stored_like_the_input(files, tmp_path, capsys):
    stored = np.asarray(Image.open(files / "photo.png"))[:, :40]  # 48 high, 40 wide as stored
    pil = Image.fromarray(stored)
    exif = pil.getexif()
    exif[0x0112] = 6  # shown turned by 90 degrees: 48 wide, 40 high
    pil.save(tmp_path / "turned.png", exif=exif.tobytes())
    mask = np.zeros((40, 48), np.uint8)  # drawn on the upright view
    mask[5:20, 20:40] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    code, _, _ = run(["inpaint", tmp_path / "turned.png", tmp_path / "m.png", tmp_path / "o.png", *fast(files)],
                     capsys)
    assert code == 0
    out = Image.open(tmp_path / "o.png")
    assert out.getexif().get(0x0112) == 6 and out.size == (40, 48)
    upright_in = np.rot90(stored, -1)
    upright_out = np.rot90(np.asarray(out), -1)
    known = mask < 128
    assert np.array_equal(upright_out[known], upright_in[known])
    assert not np.array_equal(upright_out[~known], upright_in[~known])
    # the same mask against the stored (unturned) geometry is refused, with the reason
    wrong = np.zeros((48, 40), np.uint8)
    wrong[:, 30:] = 255
    Image.fromarray(wrong).save(tmp_path / "wrong.png")
    code, _, err = run(["inpaint", tmp_path / "turned.png", tmp_path / "wrong.png", tmp_path / "o2.png",
                        *fast(files)], capsys)
    assert code == 2 and "EXIF orientation" in one_error_line(err)


@pytest.mark.parametrize("name,convert", [("photo.png", "RGB"), ("holed.png", None), ("grey.png", "L")])
def test_8bit_files_go_in_as_uint8_and_write_what_the_float_path_writes(files, tmp_path, capsys, monkeypatch,
                                                                        name, convert):
    src = files / name
    if convert:
        src = tmp_path / name
        Image.open(files / "photo.png").convert(convert).save(src)
    mask = [] if name == "holed.png" else [files / "mask.png"]
    real, seen = pipeline.inpaint, []

    def recording(image, *args, **kwargs):
        seen.append(image.dtype)
        return real(image, *args, **kwargs)

    def as_float(image, *args, **kwargs):  # what the command did before: the whole photo as float
        return real(image.float() / 255.0, *args, **kwargs)

    for hook, out in ((recording, tmp_path / "u8.png"), (as_float, tmp_path / "f32.png")):
        monkeypatch.setattr(pipeline, "inpaint", hook)
        code, _, _ = run(["inpaint", src, *mask, out, *fast(files)], capsys)
        assert code == 0
    assert seen == [torch.uint8]
    a, b = Image.open(tmp_path / "u8.png"), Image.open(tmp_path / "f32.png")
    diff = np.abs(np.asarray(a).astype(int) - np.asarray(b).astype(int))
    # colour: bit-identical; grey: the fill is rounded per channel before the grey mean, so <= 1 level
    assert a.mode == b.mode and diff.max() <= (1 if convert == "L" else 0)


def test_16bit_grey_input_gives_a_16bit_output(files, tmp_path, capsys):
    grey = (np.asarray(Image.open(files / "photo.png").convert("L")).astype(np.uint16) * 257 + 3)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    code, _, _ = run(["inpaint", tmp_path / "g16.png", files / "mask.png", tmp_path / "o16.png", *fast(files)],
                     capsys)
    assert code == 0
    out = Image.open(tmp_path / "o16.png")
    known = np.asarray(Image.open(files / "mask.png")) < 128
    assert out.mode == "I;16" and np.array_equal(np.asarray(out)[known], grey[known])


def test_mask_whose_hole_is_only_in_its_alpha_fills_that_hole(files, tmp_path, capsys):
    rgba = np.zeros((SIZE, SIZE, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[8:20, 8:20, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha_mask.png")
    code, _, _ = run(["inpaint", files / "photo.png", tmp_path / "alpha_mask.png", tmp_path / "o.png",
                      *fast(files)], capsys)
    assert code == 0
    src, res = np.asarray(Image.open(files / "photo.png")), np.asarray(Image.open(tmp_path / "o.png"))
    hole = rgba[..., 3] == 0
    assert np.array_equal(res[~hole], src[~hole]) and not np.array_equal(res[hole], src[hole])


def test_jpeg_out_only_with_a_quality(files, tmp_path, capsys, monkeypatch):
    code, _, err = run(["inpaint", files / "holed.png", tmp_path / "o.jpg", *fast(files)], capsys)
    assert code == 2 and "--jpeg-quality" in one_error_line(err) and not (tmp_path / "o.jpg").exists()
    code, _, _ = run(["inpaint", files / "holed.png", tmp_path / "o.jpg", *fast(files), "--jpeg-quality", "95"],
                     capsys)
    assert code == 0 and Image.open(tmp_path / "o.jpg").format == "JPEG"


# ----------------------------------------------------------------------------- refused before compute

@pytest.mark.parametrize("flags, names", [
    (["--alpha", "nan"], "--alpha"), (["--alpha", "inf"], "--alpha"), (["--alpha", "-1"], "--alpha"),
    (["--beta", "nan"], "--beta"), (["--beta", "1e300"], "--beta"),
    (["--iterations", "1000000000"], "--iterations"), (["--iterations", "-1"], "--iterations"),
    (["--feather", "2.5"], "--feather"), (["--feather", "-1"], "--feather"), (["--feather", "999"], "--feather"),
    (["--threshold", "0"], "--threshold"), (["--threshold", "1.5"], "--threshold"),
    (["--threshold", "nan"], "--threshold"), (["--device", "nonsense"], "--device"),
    (["--device", "cuda:7"], "--device"), (["--synthesis-steps", "65"], "--synthesis-steps"),
    (["--seed", "-1"], "--seed"), (["--refresh-every", "0"], "--refresh-every"),
    (["--max-megapixels", "0"], "--max-megapixels"), (["--max-megapixels", "nan"], "--max-megapixels"),
    (["--jpeg-quality", "0"], "jpeg_quality"), (["--iterations", "ten"], "--iterations"),
    (["--content-views", "3"], "--content-views"), (["--content-views", "0"], "--content-views"),
    (["--no-such-option"], "no-such-option"),
])
def test_bad_options_are_one_line_errors_before_compute(files, tmp_path, capsys, no_compute, flags, names):
    out = tmp_path / ("o.jpg" if "--jpeg-quality" in flags else "o.png")
    code, _, err = run(["inpaint", files / "holed.png", out, "--device", "cpu", *flags], capsys)
    assert code == 2 and names in one_error_line(err) and not out.exists()


def test_paths_that_would_lose_a_file_are_refused(files, tmp_path, capsys, no_compute):
    image, mask = tmp_path / "holed.png", tmp_path / "mask.png"
    image.write_bytes((files / "holed.png").read_bytes())
    mask.write_bytes((files / "mask.png").read_bytes())
    before = {p: p.read_bytes() for p in (image, mask)}
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dir").mkdir()
    cases = [
        ([image, image], "same file as the input"),
        ([image, mask, image], "same file as the input"),
        ([image, mask, mask], "same file as the input"),
        ([image, image, tmp_path / "o.png"], "MASK .* is the same file as IMAGE"),
        ([image, mask], "already exists.*if .*mask.png is your MASK, add an OUT path"),  # forgot OUT with an RGBA image
        ([image, tmp_path / "dir"], "is a folder"),
        ([image, tmp_path / "noext"], "no extension"),
        ([image, tmp_path / "afile" / "o.png"], "is a file"),
        ([image, tmp_path / "o.png", "--report", image], "--report .*same file as the input"),
        ([image, tmp_path / "o.png", "--report", tmp_path / "o.png"], "--report .*same file"),
        ([image, tmp_path / "o.png", "--report", tmp_path / "dir"], "--report .*is a folder"),
        ([image, tmp_path / "o.png", "--report", tmp_path / "afile" / "r.json"], "--report .*is a file"),
    ]
    for paths, message in cases:
        code, _, err = run(["inpaint", *paths], capsys)
        line = one_error_line(err)
        assert code == 2 and re.search(message, line), (paths, line)
    assert {p: p.read_bytes() for p in (image, mask)} == before
    assert not (tmp_path / "o.png").exists()


def test_existing_out_needs_overwrite_and_a_failed_save_keeps_it(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "o.png"
    out.write_bytes(b"previous result")
    code, _, err = run(["inpaint", files / "holed.png", out, *fast(files)], capsys)
    assert code == 2 and "--overwrite" in one_error_line(err) and out.read_bytes() == b"previous result"

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    code, _, err = run(["inpaint", files / "holed.png", out, *fast(files), "--overwrite"], capsys)
    assert code == 2 and "No space left" in one_error_line(err)
    assert out.read_bytes() == b"previous result" and sorted(os.listdir(tmp_path)) == ["o.png"]


@pytest.mark.parametrize("case", ["opaque", "palette", "black_mask", "grey"])
def test_nothing_to_fill_is_an_error_not_a_copy(files, tmp_path, capsys, no_compute, case):
    rgb = np.asarray(Image.open(files / "photo.png"))
    args = []
    if case == "opaque":
        Image.fromarray(np.dstack([rgb, np.full((SIZE, SIZE), 255, np.uint8)]), "RGBA").save(tmp_path / "i.png")
        expect = "nothing to fill: IMAGE has no transparent pixel"
    elif case == "palette":
        Image.fromarray(rgb).quantize(8).save(tmp_path / "i.png")
        expect = "no transparency"
    elif case == "grey":
        Image.fromarray(rgb[..., 0]).save(tmp_path / "i.png")
        expect = "no transparency"
    else:
        Image.fromarray(rgb).save(tmp_path / "i.png")
        Image.fromarray(np.zeros((SIZE, SIZE), np.uint8)).save(tmp_path / "black.png")
        args = [tmp_path / "black.png"]
        expect = "nothing to fill: MASK has no pixel at or above --threshold"
    code, _, err = run(["inpaint", tmp_path / "i.png", *args, tmp_path / "o.png"], capsys)
    assert code == 2 and expect in one_error_line(err) and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("content, expect", [
    (None, "over the decoding budget"), (b"", "cannot read IMAGE"), (b"garbage", "cannot read IMAGE"),
])
def test_bad_image_files(files, tmp_path, capsys, no_compute, content, expect):
    src = tmp_path / "in.png"
    if content is None:
        png_header_only(src, 20000, 20000)
    else:
        src.write_bytes(content)
    code, _, err = run(["inpaint", src, tmp_path / "o.png"], capsys)
    assert code == 2 and expect in one_error_line(err)


def test_missing_arguments(capsys, no_compute):
    code, _, err = run(["inpaint"], capsys)
    assert code == 2 and "usage" in one_error_line(err)
    assert main(["bogus"]) == 2 and one_error_line(capsys.readouterr().err)
    assert main(["inpaint", "--help"]) == 0 and "--max-megapixels" in capsys.readouterr().out


def test_ctrl_c_exits_130_with_one_line_and_no_output(files, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "inpaint", interrupted)
    code, _, err = run(["inpaint", files / "holed.png", tmp_path / "o.png", *fast(files)], capsys)
    assert code == 130 and "interrupted" in one_error_line(err) and os.listdir(tmp_path) == []


def test_python_dash_m_entry_point(files, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "nps_core", "inpaint", str(files / "holed.png"),
                           str(tmp_path / "o.png"), "--alpha", "nan"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: --alpha must be a finite number, got nan."


def test_plain_runs_the_content_network_once_and_the_default_averages_its_views():
    from nps_core import defaults
    from nps_core.cli import build_parser, check_fill_settings

    def views(*flags):
        args = build_parser().parse_args(["inpaint", "in.png", "out.png", "--device", "cpu", *flags])
        return check_fill_settings(args).content_views

    assert views() == defaults.CONTENT_VIEWS == 8
    assert views("--plain") == 1 and views("--content-views", "2") == 2
