"""Node adapters: metadata, layouts, devices, errors, empty masks, progress and cancel.

Runs without ComfyUI: tests/comfy_stubs.py provides stand-ins for folder_paths and comfy.*.
Images are small (64-128 px) and iteration counts tiny, with the `vgg19_random` backbone and a
seeded random content network, so the whole file runs in well under a minute on CPU.
"""

from __future__ import annotations

import os
import tempfile

import comfy_stubs
import pytest
import torch

comfy_stubs.install(tempfile.mkdtemp(prefix="nps_models_"))

import comfy.model_management as mm  # noqa: E402
import comfy.utils  # noqa: E402
import folder_paths  # noqa: E402

import nodes  # noqa: E402
from nodes import comfy_bridge  # noqa: E402
from nps_core.content import load_content_net, predict_content, random_content_net, save_content_net  # noqa: E402
from nps_core.errors import NPSInputError  # noqa: E402
from nps_core.paths import default_content_weights_path  # noqa: E402

MAPPINGS = nodes.NODE_CLASS_MAPPINGS
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}
EXPECTED_NODES = {
    "NPSContentNetLoader", "NPSContentFill", "NPSTextureLoss", "NPSOptimizeScale", "NPSPyramidDown",
    "NPSPyramidUp", "NPSCropWindow", "NPSStitchWindow", "NPSInpaint",
}


# ----------------------------------------------------------------------------- helpers

def all_inputs(cls):
    spec = cls.INPUT_TYPES()
    merged = {}
    for section in ("required", "optional"):
        merged.update(spec.get(section, {}))
    return merged


def make_image(batch=1, size=128, dtype=torch.float32, seed=0):
    """ComfyUI IMAGE [B,H,W,3] with some structure (stripes + noise)."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.linspace(0, 6.28, size).view(size, 1).expand(size, size)
    base = torch.stack([0.5 + 0.4 * torch.sin(3 * ys), 0.5 + 0.4 * torch.cos(2 * ys.T), 0.3 + 0.2 * ys / 6.28], -1)
    noise = 0.05 * torch.rand(batch, size, size, 3, generator=g)
    return (base.unsqueeze(0) + noise).clamp(0, 1).to(dtype)


def make_mask(batch=1, size=128, top=40, left=48, height=32, width=40):
    mask = torch.zeros(batch, size, size)
    mask[:, top:top + height, left:left + width] = 1.0
    return mask


@pytest.fixture(scope="module")
def content_net():
    with torch.inference_mode():
        return random_content_net(seed=0).eval()


@pytest.fixture(scope="module")
def texture():
    with torch.inference_mode():  # ComfyUI runs every node under inference mode
        (settings,) = MAPPINGS["NPSTextureLoss"]().build("vgg19_random", "", "", 3, 2, "auto")
    return settings


@pytest.fixture(autouse=True)
def comfy_like_execution():
    """Fresh progress/interrupt state, and inference mode around the test, as ComfyUI's executor has."""
    comfy.utils.ProgressBar.instances.clear()
    mm.clear_interrupt()
    with torch.inference_mode():
        yield
    mm.clear_interrupt()


def outside_equal(result, image, mask):
    """True where mask == 0 the result equals the input bit for bit (ComfyUI layouts)."""
    keep = (mask < 0.5).unsqueeze(-1).expand_as(image)
    return torch.equal(result[keep], image.float()[keep])


# ----------------------------------------------------------------------------- metadata

def test_every_expected_node_is_registered_with_display_name():
    assert set(MAPPINGS) == EXPECTED_NODES
    for node_id in MAPPINGS:
        assert node_id.startswith("NPS")
        assert nodes.NODE_DISPLAY_NAME_MAPPINGS[node_id].startswith("NPS ")


@pytest.mark.parametrize("node_id", sorted(EXPECTED_NODES))
def test_node_metadata_is_complete(node_id):
    cls = MAPPINGS[node_id]
    assert cls.CATEGORY == "inpaint/NPS"
    assert isinstance(cls.DESCRIPTION, str) and len(cls.DESCRIPTION) > 40
    assert callable(getattr(cls, cls.FUNCTION))
    assert len(cls.OUTPUT_TOOLTIPS) == len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES)
    assert all(isinstance(t, str) and t for t in cls.OUTPUT_TOOLTIPS)
    for name, spec in all_inputs(cls).items():
        kind = spec[0]
        options = spec[1] if len(spec) > 1 else {}
        assert options.get("tooltip"), f"{node_id}.{name} has no tooltip"
        if isinstance(kind, list):
            assert kind, f"{node_id}.{name} combo is empty"
            assert options.get("default", kind[0]) in kind
        elif kind in ("INT", "FLOAT"):
            assert options["min"] <= options["default"] <= options["max"], f"{node_id}.{name} default out of range"


@pytest.mark.parametrize("node_id", sorted(EXPECTED_NODES))
def test_optional_widgets_default_like_their_widget(node_id):
    """An API-format workflow saved before an optional widget existed lacks that input: the function's
    own default must then equal the widget's, so old workflows run as a new one left at defaults."""
    import inspect

    cls = MAPPINGS[node_id]
    parameters = inspect.signature(getattr(cls, cls.FUNCTION)).parameters
    for name, spec in cls.INPUT_TYPES().get("optional", {}).items():
        assert name in parameters, f"{node_id}: no parameter {name}"
        if spec[0] in WIDGET_TYPES or isinstance(spec[0], list):
            assert parameters[name].default == spec[1]["default"], f"{node_id}.{name}"
        else:
            assert parameters[name].default is None, f"{node_id}.{name}"


def test_synthesis_widgets_default_to_the_core_and_explain_plain_mode():
    from nps_core import defaults

    inpaint_steps = all_inputs(MAPPINGS["NPSInpaint"])["synthesis_steps"]
    optimize_steps = all_inputs(MAPPINGS["NPSOptimizeScale"])["synthesis_steps"]
    assert inpaint_steps[0] == optimize_steps[0] == "INT"
    assert inpaint_steps[1]["default"] == defaults.SYNTHESIS_STEPS and inpaint_steps[1]["min"] == 0
    assert optimize_steps[1]["default"] == defaults.SYNTHESIS_FIRST_STEPS and optimize_steps[1]["min"] == 0
    for spec in (inpaint_steps, optimize_steps):
        assert "0 = off" in spec[1]["tooltip"] and "plain" in spec[1]["tooltip"]
    assert "synthesis_steps" in MAPPINGS["NPSInpaint"].INPUT_TYPES()["optional"]  # old workflows still load
    assert "synthesis_steps" in MAPPINGS["NPSOptimizeScale"].INPUT_TYPES()["optional"]


def test_backbone_combo_defaults_to_a_weights_shipping_backbone():
    from nps_core import defaults
    from nps_core.backbones import BACKBONES

    backbone = all_inputs(MAPPINGS["NPSTextureLoss"])["backbone"]
    assert list(backbone[0]) == list(BACKBONES)
    assert backbone[1]["default"] == defaults.BACKBONE
    assert "vgg19" in MAPPINGS["NPSTextureLoss"].DESCRIPTION


# ----------------------------------------------------------------------------- model folder

def test_model_folder_keeps_user_entries_and_adds_models_nps(tmp_path):
    saved = folder_paths.folder_names_and_paths.pop("nps", None)
    try:
        user_dir = str(tmp_path / "my_nps_models")
        folder_paths.add_model_folder_path("nps", user_dir)  # what extra_model_paths.yaml does
        folders = comfy_bridge.register_model_folder()
        assert folders[0] == user_dir
        assert os.path.join(folder_paths.models_dir, "nps") in folders
        assert ".safetensors" in folder_paths.folder_names_and_paths["nps"][1]
        comfy_bridge.register_model_folder()  # idempotent
        assert comfy_bridge.model_folders() == folders
    finally:
        if saved is not None:
            folder_paths.folder_names_and_paths["nps"] = saved


def test_content_net_loader_lists_and_loads_files_from_models_nps(content_net):
    folder = os.path.join(folder_paths.models_dir, "nps")
    os.makedirs(folder, exist_ok=True)
    save_content_net(content_net, os.path.join(folder, "test_content.safetensors"))
    loader = MAPPINGS["NPSContentNetLoader"]
    choices = all_inputs(loader)["model_name"][0]
    assert choices[0] == "content_net (shipped)"
    assert "test_content.safetensors" in choices
    (model,) = loader().load("test_content.safetensors")
    assert model.config == content_net.config and not model.training
    assert model is not content_net  # read from the file, not handed back
    image = torch.rand(1, 3, 128, 128)
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 40:90, 30:100] = 1
    with torch.no_grad():  # the file is fp16: the loaded network predicts what the saved one does
        torch.testing.assert_close(predict_content(model, image, mask), predict_content(content_net, image, mask),
                                   atol=5e-3, rtol=0)


def test_content_net_loader_names_missing_file():
    with pytest.raises(NPSInputError, match="models/nps"):
        MAPPINGS["NPSContentNetLoader"]().load("does_not_exist.safetensors")


def test_shipped_content_net_loads_the_shipped_file():
    (model,) = MAPPINGS["NPSContentNetLoader"]().load("content_net (shipped)")
    assert model is load_content_net(default_content_weights_path(), device=mm.get_torch_device())
    assert model.config.encoder == "efficientnet_lite0" and model.config.residual_base == "directional"


# ----------------------------------------------------------------------------- texture settings

def test_texture_loss_parses_layers_and_weights():
    from nps_core.backbones import DEFAULT_LAYERS

    layers = ", ".join(DEFAULT_LAYERS["vgg19_random"])
    weights = ", ".join("1" for _ in DEFAULT_LAYERS["vgg19_random"])
    (settings,) = MAPPINGS["NPSTextureLoss"]().build("vgg19_random", layers, weights, 3, 5, "auto")
    assert settings is not None


def test_texture_loss_rejects_non_numeric_weights():
    with pytest.raises(NPSInputError, match="layer_weights"):
        MAPPINGS["NPSTextureLoss"]().build("vgg19_random", "", "one, two", 3, 5, "auto")


def test_texture_loss_rejects_unknown_layer():
    with pytest.raises(NPSInputError):
        MAPPINGS["NPSTextureLoss"]().build("vgg19_random", "no_such_layer", "", 3, 5, "auto")


# ----------------------------------------------------------------------------- window / pyramid

def test_crop_window_outputs_square_crops_and_a_window():
    image, mask = make_image(batch=2, size=96), make_mask(batch=1, size=96, top=30, left=30, height=20, width=20)
    image_before, mask_before = image.clone(), mask.clone()
    crop, crop_mask, window = MAPPINGS["NPSCropWindow"]().crop(image, mask, 0.5, 2.0, 64)
    assert crop.shape == (2, 64, 64, 3) and crop.dtype == torch.float32 and crop.device.type == "cpu"
    assert crop_mask.shape == (2, 64, 64) and set(crop_mask.unique().tolist()) <= {0.0, 1.0}
    assert crop_mask.sum() == 2 * 20 * 20
    assert torch.equal(image, image_before) and torch.equal(mask, mask_before)
    assert "64x64" in window.describe()


def test_stitch_window_changes_only_the_hole():
    image, mask = make_image(size=96), make_mask(size=96, top=30, left=30, height=20, width=20)
    crop, _crop_mask, window = MAPPINGS["NPSCropWindow"]().crop(image, mask, 0.5, 2.0, 64)
    black = torch.zeros(1, 32, 32, 3)  # any size: resized to the window
    (out,) = MAPPINGS["NPSStitchWindow"]().stitch(image, mask, black, window, 0)
    assert out.shape == image.shape
    assert outside_equal(out, image, mask)
    assert out[0, 30:50, 30:50].abs().max() == 0
    (same,) = MAPPINGS["NPSStitchWindow"]().stitch(image, mask, crop, window, 0)
    assert torch.equal(same, image)


def test_stitch_window_rejects_another_image():
    image, mask = make_image(size=96), make_mask(size=96, top=30, left=30, height=20, width=20)
    _crop, _m, window = MAPPINGS["NPSCropWindow"]().crop(image, mask, 0.5, 2.0, 64)
    with pytest.raises(NPSInputError, match="NPS Crop Window"):
        MAPPINGS["NPSStitchWindow"]().stitch(make_image(size=80), mask, _crop, window, 0)
    with pytest.raises(NPSInputError, match="NPS Crop Window"):
        MAPPINGS["NPSStitchWindow"]().stitch(image, mask, _crop, "not a window", 0)


def test_pyramid_down_and_up_sizes_and_conservative_mask():
    image, mask = make_image(size=128), make_mask(size=128, top=41, left=41, height=31, width=31)
    small, small_mask = MAPPINGS["NPSPyramidDown"]().down(image, mask, 64)
    assert small.shape == (1, 64, 64, 3) and small_mask.shape == (1, 64, 64)
    assert small_mask.sum() * 4 >= mask.sum()  # the hole never shrinks
    (up,) = MAPPINGS["NPSPyramidUp"]().up(small, image)
    assert up.shape == image.shape and up.dtype == torch.float32


def test_pyramid_down_rejects_non_square_and_bad_size():
    with pytest.raises(NPSInputError, match="square"):
        MAPPINGS["NPSPyramidDown"]().down(torch.rand(1, 64, 96, 3), torch.zeros(1, 64, 96), 32)
    with pytest.raises(NPSInputError, match="multiple of 8"):
        MAPPINGS["NPSPyramidDown"]().down(torch.rand(1, 64, 64, 3), torch.zeros(1, 64, 64), 60)


# ----------------------------------------------------------------------------- content fill

def test_content_fill_keeps_known_pixels_and_fills_the_hole(content_net):
    image, mask = make_image(size=128, dtype=torch.float16), make_mask(size=128)
    before = image.clone()
    (out,) = MAPPINGS["NPSContentFill"]().fill(content_net, image, mask)
    assert out.shape == (1, 128, 128, 3) and out.dtype == torch.float32 and out.device.type == "cpu"
    assert torch.equal(image, before)
    assert outside_equal(out, image, mask)
    assert not torch.equal(out[0, 40:72, 48:88], image.float()[0, 40:72, 48:88])


# ----------------------------------------------------------------------------- optimise scale

def test_optimize_scale_output_progress_and_no_mutation(content_net, texture):
    image, mask = make_image(size=128), make_mask(size=128)
    (init,) = MAPPINGS["NPSContentFill"]().fill(content_net, image, mask)
    small_init = init[:, ::2, ::2].contiguous()  # another size: resized by the node
    copies = [t.clone() for t in (image, mask, small_init)]
    out, report = MAPPINGS["NPSOptimizeScale"]().optimize(image, mask, small_init, texture, 0.02, 0.02, 3)
    assert out.shape == image.shape and out.dtype == torch.float32 and out.device.type == "cpu"
    assert all(torch.equal(a, b) for a, b in zip((image, mask, small_init), copies, strict=True))
    assert outside_equal(out, image, mask)
    assert not torch.equal(out[0, 40:72, 48:88], image[0, 40:72, 48:88])
    assert isinstance(report, str) and report
    bar = comfy.utils.ProgressBar.instances[-1]
    values = [value for value, _total, _preview in bar.updates]
    assert values and values == sorted(values) and values[-1] > 0
    previews = [p for _v, _t, p in bar.updates if p is not None]
    assert previews, "no preview image was sent"
    kind, picture, max_side = previews[-1]
    assert kind == "JPEG" and picture.size == (128, 128) and max_side == 512


def test_optimize_scale_cancel_stops_within_one_iteration(content_net, texture):
    image, mask = make_image(size=128), make_mask(size=128)
    grey_init = torch.where(mask.unsqueeze(-1) > 0.5, torch.full_like(image, 0.5), image)
    out, _report = MAPPINGS["NPSOptimizeScale"]().optimize(image, mask, grey_init, texture, 0.02, 0.02, 4)
    assert len(comfy.utils.ProgressBar.instances[-1].updates) >= 3  # the run would go on
    checks_before = mm.interrupt_checks
    mm.request_interrupt(after_checks=2)
    with pytest.raises(mm.InterruptProcessingException):
        MAPPINGS["NPSOptimizeScale"]().optimize(image, mask, grey_init, texture, 0.02, 0.02, 50)
    assert mm.interrupt_checks - checks_before == 2  # nothing ran after the cancelled step
    bar = comfy.utils.ProgressBar.instances[-1]
    assert len(bar.updates) == 1


def test_optimize_scale_synthesis_option(content_net, texture):
    from nps_core import defaults
    from nps_core.optimize import optimize_scale
    from nps_core.synthesis import Synthesiser, SynthesisSettings

    image, mask = make_image(size=128), make_mask(size=128)
    (init,) = MAPPINGS["NPSContentFill"]().fill(content_net, image, mask)
    node = MAPPINGS["NPSOptimizeScale"]()
    core = [comfy_bridge.image_to_core(t) for t in (image, init)]
    core_mask = comfy_bridge.mask_to_core(mask, (128, 128), 1, 0.5)
    # 0 = plain: exactly the core's optimisation from init
    plain, report = node.optimize(image, mask, init, texture, 0.02, 0.02, 2, synthesis_steps=0)
    kwargs = dict(alpha=0.02, beta=0.02, iterations=2, content_sigma=defaults.CONTENT_SIGMA)
    expected, _ = optimize_scale(core[0], core_mask, core[1], texture, **kwargs)
    assert torch.equal(plain, comfy_bridge.image_from_core(expected))
    assert "synthesis" not in report
    # default: a fresh synthesis of init first, then the same optimisation from it
    synth, report = node.optimize(image, mask, init, texture, 0.02, 0.02, 2)
    steps = defaults.SYNTHESIS_FIRST_STEPS
    start = Synthesiser(texture, SynthesisSettings(steps=steps, first_steps=steps)).level(core[0], core_mask, core[1])
    expected, _ = optimize_scale(core[0], core_mask, start, texture, **kwargs)
    assert torch.equal(synth, comfy_bridge.image_from_core(expected))
    assert not torch.equal(synth, plain) and "synthesis" in report
    assert outside_equal(synth, image, mask)
    with pytest.raises(NPSInputError, match="steps"):
        node.optimize(image, mask, init, texture, 0.02, 0.02, 2, synthesis_steps=-1)


def test_inpaint_passes_the_synthesis_option(content_net, texture, monkeypatch):
    import nodes.inpaint_node as inpaint_node
    from nps_core import defaults
    from nps_core.pipeline import inpaint, synthesis_for_steps

    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["synthesis"])
        return inpaint(*args, **kwargs)

    monkeypatch.setattr(inpaint_node, "inpaint", spy)
    image, mask = make_image(size=128), make_mask(size=128)
    default = run_inpaint(image, mask, content_net, texture, iterations=1, seed=5)
    node = MAPPINGS["NPSInpaint"]()
    plain = node.run(image, mask, 0.02, 0.02, 1, 0.5, 0, 5, content_net=content_net, texture=texture,
                     synthesis_steps=0)[0]
    assert seen == [synthesis_for_steps(defaults.SYNTHESIS_STEPS, seed=5), synthesis_for_steps(0, seed=5)]
    assert not seen[1].enabled and not torch.equal(default, plain)
    assert outside_equal(plain, image, mask)


def test_optimize_scale_empty_mask_returns_image_unchanged(texture):
    image = make_image(size=64)
    out, _report = MAPPINGS["NPSOptimizeScale"]().optimize(image, torch.zeros(1, 64, 64), image, texture, 0.02, 0.02, 3)
    assert torch.equal(out, image)


# ----------------------------------------------------------------------------- all-in-one

def run_inpaint(image, mask, content_net, texture, iterations=2, seed=0, threshold=0.5):
    return MAPPINGS["NPSInpaint"]().run(
        image, mask, 0.02, 0.02, iterations, threshold, 0, seed, content_net=content_net, texture=texture
    )[0]


def test_inpaint_fills_hole_only_and_never_mutates(content_net, texture):
    image, mask = make_image(batch=2, size=128), make_mask(batch=1, size=128)
    copies = image.clone(), mask.clone()
    out = run_inpaint(image, mask, content_net, texture)
    assert out.shape == (2, 128, 128, 3) and out.dtype == torch.float32 and out.device.type == "cpu"
    assert torch.equal(image, copies[0]) and torch.equal(mask, copies[1])
    assert outside_equal(out, image, mask.expand(2, -1, -1))
    assert not torch.equal(out[:, 40:72, 48:88], image[:, 40:72, 48:88])
    assert comfy.utils.ProgressBar.instances and comfy.utils.ProgressBar.instances[-1].updates


def test_inpaint_accepts_fp16_soft_mask_of_another_size(content_net, texture):
    image = make_image(size=128, dtype=torch.float16)
    soft = make_mask(size=64, top=20, left=24, height=16, width=20) * 0.8  # soft, half size
    out = run_inpaint(image, soft, content_net, texture)
    assert out.dtype == torch.float32 and out.shape == (1, 128, 128, 3)
    assert not torch.equal(out, image.float())


def test_inpaint_same_seed_same_result(content_net, texture):
    image, mask = make_image(size=128), make_mask(size=128)
    assert torch.equal(run_inpaint(image, mask, content_net, texture, seed=3),
                       run_inpaint(image, mask, content_net, texture, seed=3))


def test_inpaint_empty_mask_returns_image_unchanged(content_net, texture):
    image = make_image(size=96)
    empty_loadimage_mask = torch.zeros(1, 64, 64)  # what LoadImage gives for a PNG without alpha
    out = run_inpaint(image, empty_loadimage_mask, content_net, texture)
    assert torch.equal(out, image)
    assert out.data_ptr() != image.data_ptr()


@pytest.mark.parametrize(
    "image, mask, match",
    [
        (torch.rand(2, 64, 64, 3), torch.ones(3, 64, 64), "batch"),
        (torch.full((1, 64, 64, 3), float("nan")), torch.ones(1, 64, 64), "NaN"),
        (torch.rand(64, 64), torch.ones(1, 64, 64), r"\[B,H,W,3\]"),
        (torch.rand(1, 64, 64, 3), torch.ones(1, 2, 3, 64, 64), "mask"),
        (torch.rand(1, 64, 64, 3), torch.ones(1, 64, 64), "whole image"),
    ],
    ids=["mismatched-batch", "nan-image", "image-shape", "mask-shape", "full-mask"],
)
def test_inpaint_bad_inputs_raise_clear_errors(image, mask, match, content_net, texture):
    with pytest.raises(NPSInputError, match=match):
        run_inpaint(image, mask, content_net, texture)


def test_inpaint_cancel_stops_within_one_iteration(content_net, texture):
    image, mask = make_image(size=128), make_mask(size=128)
    checks_before = mm.interrupt_checks
    mm.request_interrupt(after_checks=3)
    with pytest.raises(mm.InterruptProcessingException):
        run_inpaint(image, mask, content_net, texture, iterations=50)
    assert mm.interrupt_checks - checks_before == 3


# ----------------------------------------------------------------------------- settings reach the core unconverted

@pytest.mark.parametrize("field, value", [
    ("feather", 2.5), ("feather", -1), ("alpha", float("nan")), ("beta", float("inf")), ("iterations", 2.5),
    ("iterations", 10**9), ("threshold", 0.0), ("synthesis_steps", 1.5), ("seed", -1),
])
@pytest.mark.parametrize("hole", [True, False], ids=["hole", "empty-mask"])
def test_inpaint_node_bad_settings_are_the_packs_errors(field, value, hole, content_net, texture):
    from nps_core.errors import NPSOptionError

    settings = dict(alpha=0.02, beta=0.02, iterations=1, threshold=0.5, feather=0, seed=0, synthesis_steps=0)
    settings[field] = value
    mask = make_mask(size=64) if hole else torch.zeros(1, 64, 64)
    with pytest.raises(NPSOptionError, match=field):
        MAPPINGS["NPSInpaint"]().run(make_image(size=64), mask, content_net=content_net, texture=texture, **settings)


def test_other_nodes_bad_settings_are_the_packs_errors(content_net, texture):
    from nps_core.errors import NPSOptionError

    image, mask = make_image(size=128), make_mask(size=128)
    with pytest.raises(NPSOptionError, match="window_scale"):
        MAPPINGS["NPSCropWindow"]().crop(image, mask, 0.5, float("nan"), 64)
    with pytest.raises(NPSOptionError, match="min_size"):
        MAPPINGS["NPSCropWindow"]().crop(image, mask, 0.5, 2.0, 64.5)
    crop, _crop_mask, window = MAPPINGS["NPSCropWindow"]().crop(image, mask, 0.5, 2.0, 64)
    with pytest.raises(NPSOptionError, match="feather"):
        MAPPINGS["NPSStitchWindow"]().stitch(image, mask, crop, window, 2.5)
    with pytest.raises(NPSOptionError, match="size"):
        MAPPINGS["NPSPyramidDown"]().down(crop, _crop_mask, 64.5)
    with pytest.raises(NPSOptionError, match="alpha"):
        MAPPINGS["NPSOptimizeScale"]().optimize(crop, _crop_mask, crop, texture, float("inf"), 0.02, 1)
    with pytest.raises(NPSOptionError, match="synthesis_steps"):
        MAPPINGS["NPSOptimizeScale"]().optimize(crop, _crop_mask, crop, texture, 0.02, 0.02, 1, synthesis_steps=0.5)
