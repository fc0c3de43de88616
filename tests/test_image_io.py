"""nps_core.image_io: files read as a viewer shows them, outputs like the input, atomic and safe writes."""

import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from nps_core import image_io
from nps_core.errors import NPSFileError, NPSInputError, NPSPathError


def rgb_array(h=24, w=40, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def png_header_only(path, width, height):
    """A PNG whose header claims width x height (its pixel data is a stub): tests the budget cheaply."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))


# ----------------------------------------------------------------------------- reading

def test_16bit_grey_is_scaled_not_clipped_and_written_back_16bit(tmp_path):
    a = (np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16)
    Image.fromarray(a).save(tmp_path / "g16.png")
    im = image_io.read_image(tmp_path / "g16.png")
    assert im.pixels.dtype == np.uint16 and im.pixels.shape == (48, 64, 1)
    t = im.image_tensor()
    assert t.shape == (1, 3, 48, 64)
    torch.testing.assert_close(t[0, 0], torch.from_numpy(a.astype(np.float32) / 65535.0))
    assert float(t.max()) < 1.0  # the old reader clipped every value above 255 to white
    plan = image_io.plan_output(tmp_path / "out.png", [tmp_path / "g16.png"])
    image_io.save_image(plan, t, im)
    out = Image.open(tmp_path / "out.png")
    assert out.mode == "I;16" and np.array_equal(np.asarray(out), a)


def test_every_8_and_16_bit_value_survives_the_float_round_trip():
    for dtype, top in ((np.uint8, 255), (np.uint16, 65535)):
        v = np.arange(top + 1, dtype=dtype).reshape(1, -1, 1)
        t = image_io.pixels_to_tensor(v)[0, 0].numpy()
        assert np.array_equal(np.rint(t * top).astype(dtype), v[..., 0])


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_is_applied_and_the_output_is_stored_like_the_input(tmp_path, orientation):
    stored = rgb_array(20, 36)
    pil = Image.fromarray(stored)
    exif = pil.getexif()
    exif[0x0112] = orientation
    src = tmp_path / "photo.png"
    pil.save(src, exif=exif.tobytes())
    im = image_io.read_image(src)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(src)))
    assert im.orientation == orientation and np.array_equal(im.pixels, upright)
    plan = image_io.plan_output(tmp_path / "out.png", [src])
    image_io.save_image(plan, im.image_tensor(), im)
    out = Image.open(tmp_path / "out.png")
    assert out.getexif().get(0x0112) == orientation
    assert np.array_equal(np.asarray(out), stored)  # same stored layout, so it shows the same way


def test_palette_images_with_and_without_transparency(tmp_path):
    pal = Image.fromarray(rgb_array()).quantize(16)
    pal.save(tmp_path / "p.png")
    im = image_io.read_image(tmp_path / "p.png")
    assert im.alpha is None and im.pixels.shape[2] == 3
    assert np.array_equal(im.pixels, np.asarray(pal.convert("RGB")))
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pt.png", transparency=0)
    im = image_io.read_image(tmp_path / "pt.png")
    expected = np.asarray(Image.open(tmp_path / "pt.png").convert("RGBA"))[..., 3]
    assert im.alpha is not None and np.array_equal(im.alpha, expected) and (im.alpha == 0).any()


def test_grey_alpha_input_gives_grey_alpha_output_with_the_hole_opaque(tmp_path):
    la = np.dstack([rgb_array()[..., 0], np.full((24, 40), 255, np.uint8)])
    la[5:10, 5:12, 1] = 0
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    im = image_io.read_image(tmp_path / "la.png")
    hole = im.alpha < 128
    plan = image_io.plan_output(tmp_path / "o.png")
    image_io.save_image(plan, im.image_tensor(), im, hole=hole)
    out = np.asarray(Image.open(tmp_path / "o.png"))
    assert Image.open(tmp_path / "o.png").mode == "LA"
    assert np.array_equal(out[..., 0], la[..., 0]) and (out[..., 1] == 255).all()


def test_float_and_32bit_images(tmp_path):
    f = np.linspace(0, 1, 24 * 40, dtype=np.float32).reshape(24, 40)
    Image.fromarray(f, "F").save(tmp_path / "f.tif")
    im = image_io.read_image(tmp_path / "f.tif")
    assert im.pixels.dtype == np.float32 and np.array_equal(im.pixels[..., 0], f)
    Image.fromarray(f * 3, "F").save(tmp_path / "f3.tif")
    with pytest.raises(NPSFileError, match="f3.tif.*outside 0..1"):
        image_io.read_image(tmp_path / "f3.tif")
    Image.fromarray((f * 70000).astype(np.int32), "I").save(tmp_path / "i32.tif")
    with pytest.raises(NPSFileError, match="i32.tif.*0..65535"):
        image_io.read_image(tmp_path / "i32.tif")


def test_pixel_budget_is_checked_from_the_header_with_the_fix(tmp_path):
    png_header_only(tmp_path / "bomb.png", 20000, 20000)
    with pytest.raises(NPSFileError, match=r"bomb.png is 20000x20000 = 400.0 megapixels.*--max-megapixels 400"):
        image_io.read_image(tmp_path / "bomb.png")
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's own guard is restored
    with pytest.raises(NPSFileError, match="cannot decode"):  # budget raised: the stub data is then decoded
        image_io.read_image(tmp_path / "bomb.png", max_pixels=400_000_000)


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_unreadable_files_are_named(tmp_path, content):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(NPSFileError, match="IMAGE .*bad.png"):
        image_io.read_image(tmp_path / "bad.png")


def test_truncated_file_is_named(tmp_path):
    Image.fromarray(rgb_array(64, 64)).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(NPSFileError, match="cut.png"):
        image_io.read_image(tmp_path / "cut.png")


def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(NPSFileError, match="does not exist"):
        image_io.read_image(tmp_path / "nope.png")
    with pytest.raises(NPSFileError, match="is a folder"):
        image_io.read_mask(tmp_path)


# ----------------------------------------------------------------------------- masks

def test_mask_white_is_hole_and_16bit_masks_scale(tmp_path):
    m = np.zeros((24, 40), np.uint16)
    m[4:9, 6:20] = 65535
    Image.fromarray(m).save(tmp_path / "m16.png")
    mask = image_io.read_mask(tmp_path / "m16.png")
    assert mask.source == "colour" and np.array_equal(mask.values > 0.5, m > 0)


def test_mask_whose_hole_is_only_in_its_alpha_uses_the_transparent_pixels(tmp_path):
    rgba = np.zeros((24, 40, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[4:9, 6:20, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    mask = image_io.read_mask(tmp_path / "m.png")
    assert mask.source == "transparency"
    assert np.array_equal(mask.values > 0.5, rgba[..., 3] == 0)


def test_white_strokes_on_a_transparent_layer_are_the_hole(tmp_path):
    rgba = np.full((24, 40, 4), 255, np.uint8)
    rgba[..., 3] = 0
    rgba[4:9, 6:20, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    mask = image_io.read_mask(tmp_path / "m.png")
    assert mask.source == "colour over transparency"
    assert np.array_equal(mask.values > 0.5, rgba[..., 3] == 255)


def test_mask_of_another_aspect_is_refused_and_explains_exif(tmp_path):
    Image.fromarray(np.zeros((30, 50), np.uint8)).save(tmp_path / "m.png")
    image_io.read_mask(tmp_path / "m.png", image_hw=(60, 100))  # same aspect: resized later
    with pytest.raises(NPSFileError, match="50x30 but the image shows as 30x50.*EXIF orientation"):
        image_io.read_mask(tmp_path / "m.png", image_hw=(50, 30), image_stored_hw=(30, 50))


# ----------------------------------------------------------------------------- output paths

def test_output_cannot_be_an_input_also_through_a_link(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(rgb_array()).save(src)
    os.symlink(src, tmp_path / "link.png")
    for out in (src, tmp_path / "link.png", tmp_path / "sub" / ".." / "in.png"):
        with pytest.raises(NPSPathError, match="same file as the input"):
            image_io.plan_output(out, [src])


@pytest.mark.parametrize("name, message", [
    ("", "empty"), ("folder", "is a folder"), ("folder/", "is a folder"), ("noext", "no extension"),
    ("x.gif", "cannot write '.gif'"), ("x.jpg", "lossy"), ("afile/x.png", "is a file"),
])
def test_bad_output_paths_are_refused_before_work(tmp_path, name, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    path = "" if name == "" else str(tmp_path / name) + ("/" if name.endswith("/") else "")
    with pytest.raises(NPSPathError, match=message):
        image_io.plan_output(path)


def test_an_existing_output_is_replaced_only_when_asked(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(NPSPathError, match="already exists.*--overwrite"):
        image_io.plan_output(target)
    assert target.read_bytes() == b"precious"
    plan = image_io.plan_output(target, overwrite=True)
    image_io.save_image(plan, torch.rand(1, 3, 8, 8))
    assert Image.open(target).size == (8, 8)
    os.symlink(tmp_path / "elsewhere.png", tmp_path / "dangling.png")
    with pytest.raises(NPSPathError, match="already exists"):
        image_io.plan_output(tmp_path / "dangling.png")


def test_jpeg_needs_a_quality_and_missing_folders_are_created(tmp_path):
    plan = image_io.plan_output(tmp_path / "a" / "b" / "x.jpeg", jpeg_quality=90)
    assert plan.lossy and plan.save_options == {"quality": 90} and not (tmp_path / "a").exists()
    image_io.save_image(plan, torch.rand(1, 3, 8, 8))
    assert Image.open(tmp_path / "a" / "b" / "x.jpeg").format == "JPEG"
    with pytest.raises(NPSInputError, match="jpeg_quality"):
        image_io.plan_output(tmp_path / "x.jpg", jpeg_quality=101)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(NPSPathError, match="not writable"):
        image_io.plan_output(ro / "x.png")


def test_information_the_format_cannot_hold_is_refused_lossless_widening_is_not(tmp_path):
    rgba = np.dstack([rgb_array(), np.full((24, 40), 255, np.uint8)])
    rgba[:3, :3, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    im = image_io.read_image(tmp_path / "t.png")
    jpg = image_io.plan_output(tmp_path / "o.jpg", jpeg_quality=95)
    with pytest.raises(NPSPathError, match="transparency"):
        image_io.output_mode(jpg, im, alpha_needed=True)
    assert image_io.output_mode(jpg, im, alpha_needed=False) == "RGB"  # fully opaque after the fill
    Image.fromarray(np.zeros((8, 8), np.uint16)).save(tmp_path / "g16.png")
    g16 = image_io.read_image(tmp_path / "g16.png")
    with pytest.raises(NPSPathError, match="16-bit.*png or .tif"):
        image_io.output_mode(image_io.plan_output(tmp_path / "o.webp"), g16, alpha_needed=False)
    Image.fromarray(rgb_array()[..., 0]).save(tmp_path / "g.png")
    g = image_io.read_image(tmp_path / "g.png")
    plan = image_io.plan_output(tmp_path / "o.webp")
    image_io.save_image(plan, g.image_tensor(), g)
    out = np.asarray(Image.open(tmp_path / "o.webp"))
    assert out.shape == (24, 40, 3) and all(np.array_equal(out[..., c], g.pixels[..., 0]) for c in range(3))


# ----------------------------------------------------------------------------- atomic writes

@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_save_leaves_the_existing_file_intact_and_no_temp_files(tmp_path, failure):
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")

    def half_then_fail(fh):
        fh.write(b"half a file")
        raise failure

    with pytest.raises(type(failure)):
        image_io.write_file_atomic(target, half_then_fail)
    assert target.read_bytes() == b"precious" and sorted(os.listdir(tmp_path)) == ["out.png"]


def test_save_image_turns_write_errors_into_a_named_error(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    plan = image_io.plan_output(target, overwrite=True)

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(NPSPathError, match="cannot write OUT .*out.png: No space left"):
        image_io.save_image(plan, torch.rand(1, 3, 8, 8))
    assert target.read_bytes() == b"precious" and sorted(os.listdir(tmp_path)) == ["out.png"]


def test_atomic_write_keeps_the_permissions_of_an_existing_file(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("{}")
    target.chmod(0o640)
    image_io.write_text_atomic(target, '{"a": 1}')
    assert target.read_text() == '{"a": 1}' and (target.stat().st_mode & 0o777) == 0o640
    image_io.write_text_atomic(tmp_path / "new.json", "{}")
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
