"""Property-based tests (Hypothesis): any input either works, with known pixels bit-exact, or raises
the pack's own error type (`NPSInputError` and subclasses) with a message naming the input.

Each example is a valid base case (image size, dtype, value range, layout, mask shape and dtype,
option values) with at most one thing spoiled; the spoiled input's name must be in the message.
Kept fast: tiny images, a tiny content network, 0-1 iterations, no texture term, a few dozen
examples per property, derandomized so that CI sees the same examples on every run.
"""

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nps_core import defaults, image_io
from nps_core.content import ContentNetConfig, random_content_net
from nps_core.errors import NPSFileError, NPSInputError, NPSOptionError
from nps_core.options import check_inpaint_options
from nps_core.pipeline import inpaint
from nps_core.synthesis import SynthesisSettings

FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
PLAIN = SynthesisSettings.plain()
TINY_NET = random_content_net(seed=0, config=ContentNetConfig(channels=(4, 4, 4, 4, 4), bottleneck=8))

# ----------------------------------------------------------------------------- option values

GOOD = {
    "alpha": st.one_of(st.just(0), st.floats(0, defaults.MAX_WEIGHT), st.integers(0, 10)),
    "beta": st.one_of(st.floats(0, defaults.MAX_WEIGHT), st.integers(0, 10)),
    "iterations": st.one_of(st.integers(0, defaults.MAX_ITERATIONS), st.just(2.0)),
    "threshold": st.floats(1e-6, 1.0),
    "feather": st.one_of(st.integers(0, defaults.MAX_FEATHER), st.just(3.0), st.just(np.int64(2))),
    "window_scale": st.floats(1.0, defaults.MAX_WINDOW_SCALE),
    "min_window": st.integers(defaults.COARSEST, defaults.MAX_WINDOW),
    "content_sigma": st.floats(0.0, defaults.MAX_CONTENT_SIGMA),
    "device": st.sampled_from([None, "cpu", torch.device("cpu")]),
}
NOT_NUMBERS = st.sampled_from([None, "1", True, [1], torch.tensor(1.0), float("nan"), float("inf"), -float("inf")])
BAD = {
    "alpha": st.one_of(NOT_NUMBERS, st.floats(max_value=-1e-9), st.floats(min_value=defaults.MAX_WEIGHT * 1.01)),
    "beta": st.one_of(NOT_NUMBERS, st.floats(max_value=-1e-9)),
    "iterations": st.one_of(NOT_NUMBERS, st.integers(max_value=-1), st.integers(min_value=defaults.MAX_ITERATIONS + 1),
                            st.floats(0.1, 100).filter(lambda x: x != int(x))),
    "threshold": st.one_of(NOT_NUMBERS, st.floats(max_value=0.0), st.floats(min_value=1.0 + 1e-9)),
    "feather": st.one_of(NOT_NUMBERS, st.just(2.5), st.integers(max_value=-1),
                         st.integers(min_value=defaults.MAX_FEATHER + 1)),
    "window_scale": st.one_of(NOT_NUMBERS, st.floats(max_value=0.999)),
    "min_window": st.one_of(NOT_NUMBERS, st.integers(max_value=defaults.COARSEST - 1), st.just(200.5)),
    "content_sigma": st.one_of(NOT_NUMBERS, st.floats(max_value=-1e-9)),
    "device": st.sampled_from(["nonsense", "cuda:99", "meta", 3.5, "", "cpu:x"]),
}


@st.composite
def option_sets(draw):
    values = {name: draw(strategy) for name, strategy in GOOD.items()}
    spoiled = draw(st.one_of(st.none(), st.sampled_from(sorted(BAD))))
    if spoiled is not None:
        values[spoiled] = draw(BAD[spoiled])
    return values, spoiled


@FAST
@given(option_sets())
def test_settings_are_canonical_in_range_or_an_error_naming_them(case):
    values, spoiled = case
    if spoiled is None:
        out = check_inpaint_options(**values)
        assert isinstance(out["iterations"], int) and isinstance(out["feather"], int)
        assert 0 <= out["alpha"] <= defaults.MAX_WEIGHT and math.isfinite(out["beta"])
        assert 0 < out["threshold"] <= 1 and out["min_window"] >= defaults.COARSEST
        assert out["device"] is None or out["device"].type == "cpu"
    else:
        with pytest.raises(NPSOptionError) as info:
            check_inpaint_options(**values)
        assert spoiled in str(info.value)


# ----------------------------------------------------------------------------- images and masks

DTYPES = ["float32", "float16", "float64", "bfloat16", "uint8", "uint16"]


def to_dtype(x01: np.ndarray, dtype: str, array: str):
    """A [..] float64 0..1 array in `dtype` (integers scaled: 255, 65535) as a tensor or numpy array."""
    if dtype == "uint8":
        value = np.rint(x01 * 255).astype(np.uint8)
    elif dtype == "uint16":
        value = np.rint(x01 * 65535).astype(np.uint16)
    else:
        value = x01.astype(np.float32 if dtype == "bfloat16" else dtype)
    t = torch.from_numpy(value)
    if dtype == "bfloat16":
        t = t.to(torch.bfloat16)
    return t.numpy() if array == "numpy" and dtype != "bfloat16" else t


def expected_float32(value) -> torch.Tensor:
    """What the library must see for an accepted value (the documented conversion, nothing clamped)."""
    t = torch.as_tensor(value) if isinstance(value, np.ndarray) else value
    if t.dtype == torch.uint8:
        return t.to(torch.float32) / 255.0
    if t.dtype == torch.uint16:
        return t.to(torch.float32) / 65535.0
    return t.to(torch.float32)


IMAGE_SPOILERS = ["scale_255", "signed", "nan", "int32", "channels_last", "list", "empty", "five_d"]
MASK_SPOILERS = ["scale_255", "nan", "other_aspect", "three_channels", "full", "batch_3"]


@st.composite
def cases(draw):
    h = draw(st.integers(2, 20))
    w = draw(st.integers(2, 20).filter(lambda v: v not in (3, 4)))  # width 3/4 is refused, tested below
    batch = draw(st.sampled_from([1, 2]))
    dtype = draw(st.sampled_from(DTYPES))
    array = draw(st.sampled_from(["torch", "numpy"]))
    channels = draw(st.sampled_from([1, 3, 4]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.random((batch, channels, h, w))
    if dtype.startswith("float") and draw(st.booleans()):  # a little ringing outside 0..1 is allowed
        x = x * (1 + 2 * defaults.IMAGE_RANGE_TOLERANCE * 0.9) - defaults.IMAGE_RANGE_TOLERANCE * 0.9
    layout = draw(st.sampled_from(["bchw", "chw"])) if batch == 1 else "bchw"
    top, left = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
    mh, mw = draw(st.integers(1, h - top)), draw(st.integers(1, w - left))
    if mh * mw == h * w:  # leave at least one known pixel
        mh = max(1, mh - 1) if h > 1 else mh
        mw = mw if mh < h else max(1, mw - 1)
    hole = np.zeros((h, w), bool)
    hole[top:top + mh, left:left + mw] = True
    if hole.all():
        hole[0, 0] = False
    mask_kind = draw(st.sampled_from(["hw", "bhw", "b1hw", "bool", "uint8", "soft", "twice", "empty"]))
    spoiled = draw(st.one_of(st.none(), st.sampled_from(["image:" + s for s in IMAGE_SPOILERS]
                                                        + ["mask:" + s for s in MASK_SPOILERS])))
    return dict(h=h, w=w, batch=batch, dtype=dtype, array=array, x=x, layout=layout, hole=hole,
                mask_kind=mask_kind, spoiled=spoiled, threshold=draw(st.sampled_from([0.5, 0.3, 1.0])))


def build_image(c):
    image = to_dtype(c["x"].clip(0, 1) if not c["dtype"].startswith("float") else c["x"], c["dtype"], c["array"])
    if c["layout"] == "chw":
        image = image[0]
    return image


def build_mask(c):
    hole = c["hole"].astype(np.float64)
    kind = c["mask_kind"]
    if kind == "empty":
        return torch.zeros(1, c["h"], c["w"])
    if kind == "hw":
        return torch.from_numpy(hole.astype(np.float32))
    if kind == "bhw":
        return torch.from_numpy(hole.astype(np.float32))[None]
    if kind == "b1hw":
        return torch.from_numpy(hole.astype(np.float32))[None, None]
    if kind == "bool":
        return torch.from_numpy(hole > 0.5)
    if kind == "uint8":
        return np.rint(hole * 255).astype(np.uint8)
    if kind == "soft":  # soft values: just below the threshold outside the hole
        return torch.from_numpy(np.where(hole > 0, 1.0, 0.9 * c["threshold"]).astype(np.float32))
    if kind == "twice":  # same aspect, twice the size: resized, nearest-like for a box at even offsets
        return torch.from_numpy(np.kron(hole, np.ones((2, 2))).astype(np.float32))
    raise AssertionError(kind)


def spoil(c, image, mask):
    kind, _, what = (c["spoiled"] or "::").partition(":")
    if kind == "image":
        base = torch.as_tensor(expected_float32(image))
        if what == "scale_255":
            return base * 255 + 2, mask
        if what == "signed":
            return base * 2 - 1.5, mask
        if what == "nan":
            bad = base.clone()
            bad.view(-1)[0] = float("nan")
            return bad, mask
        if what == "int32":
            return (base * 255).to(torch.int32), mask
        if what == "channels_last":
            return torch.rand(c["h"], c["w"], 3), mask
        if what == "list":
            return base.tolist(), mask
        if what == "empty":
            return torch.zeros(1, 3, 0, c["w"]), mask
        if what == "five_d":
            return base[None, None], mask
    if kind == "mask":
        hole = torch.from_numpy(c["hole"].astype(np.float32))
        if what == "scale_255":
            return image, hole * 255 + 1
        if what == "nan":
            bad = hole.clone()
            bad[0, 0] = float("nan")
            return image, bad
        if what == "other_aspect":
            other = torch.zeros(c["h"] * 3 + 5, c["w"])
            other[:5] = 1
            return image, other
        if what == "three_channels":
            return image, hole[None, None].expand(1, 3, -1, -1)
        if what == "full":
            return image, torch.ones(c["h"], c["w"])
        if what == "batch_3":  # an image batch of 2 with 3 masks
            two = torch.as_tensor(expected_float32(image))
            two = two[None] if two.dim() == 3 else two
            return two[:1].expand(2, -1, -1, -1), hole[None].expand(3, -1, -1)
    return image, mask


@FAST
@given(cases())
def test_inpaint_works_bit_exact_or_names_the_bad_input(c):
    image, mask = spoil(c, build_image(c), build_mask(c))
    run = dict(content_net=TINY_NET, alpha=0, iterations=c["batch"] % 2, synthesis=PLAIN, threshold=c["threshold"])
    if c["spoiled"]:
        name = c["spoiled"].split(":")[0]
        with pytest.raises(NPSInputError) as info:
            inpaint(image, mask, **run)
        assert name in str(info.value), str(info.value)
        return
    before = image.clone() if isinstance(image, torch.Tensor) else image.copy()
    result = inpaint(image, mask, **run).image
    given_image = expected_float32(image)
    if given_image.dim() == 3:
        given_image = given_image[None]
    given_image = given_image[:, :3] if given_image.shape[1] >= 3 else given_image.expand(-1, 3, -1, -1)
    # uint8 photos stay uint8 (issue 12: only each context window is converted); the rest is float32
    expected_dtype = torch.uint8 if c["dtype"] == "uint8" else torch.float32
    assert result.shape == (c["batch"], 3, c["h"], c["w"]) and result.dtype == expected_dtype
    result = expected_float32(result)
    assert torch.isfinite(result).all()
    hole = torch.from_numpy(c["hole"] if c["mask_kind"] != "empty" else np.zeros_like(c["hole"]))
    known = ~hole.expand_as(result)
    assert torch.equal(result[known], given_image[known])           # known pixels bit-exact, as given
    assert ((result[~known] >= 0) & (result[~known] <= 1)).all()    # the fill is in range
    if isinstance(image, torch.Tensor):                            # the input is never modified
        if image.dtype == torch.bfloat16:
            assert torch.equal(image.float(), before.float())
        else:
            assert torch.equal(image, before)
    else:
        assert np.array_equal(image, before)


@pytest.mark.parametrize("shape", [(1, 3, 10, 3), (3, 12, 4), (12, 9, 3), (1, 12, 9, 4)])
def test_channels_last_or_ambiguous_layouts_are_refused_with_the_fix(shape):
    with pytest.raises(NPSInputError, match=r"image has shape .*permute"):
        inpaint(torch.rand(*shape), torch.zeros(8, 8), content_net=TINY_NET)


# ----------------------------------------------------------------------------- files

MODES = ["L", "LA", "RGB", "RGBA", "P", "PT", "I;16", "1"]
OUTPUT_MODE = {"L": "L", "LA": "LA", "RGB": "RGB", "RGBA": "RGBA", "P": "RGB", "PT": "RGBA", "I;16": "I;16", "1": "L"}


def make_file(folder: Path, mode: str, h: int, w: int, orientation: int, seed: int) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(seed)
    rgb = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    if mode == "I;16":
        pil = Image.fromarray((rng.random((h, w)) * 65535).astype(np.uint16))
    elif mode == "1":
        pil = Image.fromarray(rgb[..., 0] > 127)
    elif mode in ("P", "PT"):
        pil = Image.fromarray(rgb).quantize(6)
    else:
        alpha = np.where(rng.random((h, w)) < 0.3, 0, 255).astype(np.uint8)
        arr = {"L": rgb[..., 0], "LA": np.dstack([rgb[..., 0], alpha]), "RGB": rgb,
               "RGBA": np.dstack([rgb, alpha])}[mode]
        pil = Image.fromarray(arr, mode)
    exif = pil.getexif()
    if orientation != 1:
        exif[0x0112] = orientation
    path = folder / f"in_{mode.replace(';', '')}_{orientation}.png"
    extra = {"transparency": 0} if mode == "PT" else {}
    pil.save(path, exif=exif.tobytes(), **extra)
    stored = Image.open(path)
    reference = np.asarray(stored.convert("RGBA") if mode == "PT" else stored.convert("RGB") if mode == "P"
                           else stored.convert("L") if mode == "1" else stored)
    return path, reference


@FAST
@given(st.sampled_from(MODES), st.integers(1, 12), st.integers(1, 12), st.integers(1, 8), st.integers(0, 2**16))
def test_files_round_trip_like_the_input_with_known_pixels_exact(mode, h, w, orientation, seed):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, stored = make_file(folder, mode, h, w, orientation, seed)
        im = image_io.read_image(path)
        upright = (w, h) if orientation in (5, 6, 7, 8) else (h, w)
        assert im.size_hw == upright and im.orientation == orientation
        hole = np.zeros(im.size_hw, bool)
        hole[: max(1, im.height // 2), : max(1, im.width // 2)] = True
        result = im.image_tensor().clone()
        result[..., torch.from_numpy(hole)] = 0.25
        plan = image_io.plan_output(folder / "out.png", [path])
        image_io.save_image(plan, result, like=im, hole=hole)
        out = Image.open(folder / "out.png")
        assert out.mode == OUTPUT_MODE[mode] and out.size == Image.open(path).size
        assert (out.getexif().get(0x0112) or 1) == orientation
        back = image_io.read_image(folder / "out.png")
        known = ~hole
        if back.pixels.shape[2] == im.pixels.shape[2]:
            assert np.array_equal(back.pixels[known], im.pixels[known])  # known pixels exact
        if im.alpha is not None:
            assert np.array_equal(back.alpha[known], im.alpha[known]) and (back.alpha[hole] == 255).all()
        assert np.asarray(out).shape[:2] == stored.shape[:2]  # stored like the input (same layout)


@FAST
@given(st.binary(max_size=300), st.sampled_from([".png", ".jpg", ".gif", ".tif", ".webp", ".bmp", ""]))
def test_any_bytes_are_an_image_or_a_named_file_error(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"junk{suffix}"
        path.write_bytes(data)
        try:
            im = image_io.read_image(path)
        except NPSFileError as exc:
            assert str(path) in str(exc)
        else:
            assert im.pixels.ndim == 3 and im.pixels.shape[2] in (1, 3)


@FAST
@given(st.text(alphabet="ab./_-", min_size=0, max_size=12).filter(lambda t: not t.startswith("/")), st.booleans())
def test_output_paths_are_planned_or_refused_never_touching_files(name, exists):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "in.png").write_bytes(b"input")
        target = folder / name if name else ""
        if exists and name and not name.endswith("/") and Path(target).suffix and not Path(target).exists():
            try:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                Path(target).write_bytes(b"old")
            except OSError:
                pass
        before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
        try:
            plan = image_io.plan_output(target, [folder / "in.png"])
        except NPSInputError as exc:
            assert "OUT" in str(exc)
        else:
            assert plan.format in image_io.FORMAT_MODES and not plan.lossy
            assert not plan.path.exists() and plan.path.resolve() != (folder / "in.png").resolve()
        assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
        assert (folder / "in.png").read_bytes() == b"input"
