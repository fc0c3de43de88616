"""Node adapters (V3 schema): metadata, registration, layouts, devices, memory, errors, progress and cancel.

Runs without ComfyUI: tests/comfy_stubs.py provides stand-ins for folder_paths, comfy.* and
comfy_api.latest, and imports the repository as a package the way ComfyUI does. Images are small
(64-128 px) and iteration counts tiny, with the `vgg19_random` backbone and a seeded random content
network, so the whole file runs in about a minute on CPU.
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
import types

import comfy_stubs
import pytest
import torch

comfy_stubs.install(tempfile.mkdtemp(prefix="nps_models_"))

import comfy.model_management as mm  # noqa: E402
import comfy.utils  # noqa: E402
import folder_paths  # noqa: E402
from comfy_api.latest import io  # noqa: E402

from nps_core.content import predict_content, random_content_net, save_content_net  # noqa: E402
from nps_core.paths import default_content_weights_path  # noqa: E402

PACK = comfy_stubs.load_pack()
MAPPINGS = comfy_stubs.node_classes(PACK)
comfy_bridge = PACK.nodes.comfy_bridge
NPSInputError = PACK.nps_core.errors.NPSInputError  # the pack's own core raises these
NPSOutOfMemoryError = PACK.nps_core.errors.NPSOutOfMemoryError
EXPECTED_NODES = {
    "NPSContentNetLoader", "NPSContentFill", "NPSTextureLoss", "NPSOptimizeScale", "NPSPyramidDown",
    "NPSPyramidUp", "NPSCropWindow", "NPSStitchWindow", "NPSInpaint",
}


# ----------------------------------------------------------------------------- helpers

def schema(node_id):
    return MAPPINGS[node_id].GET_SCHEMA()


def inputs_by_name(node_id) -> dict:
    return {item.id: item for item in schema(node_id).inputs}


def run(node_id, *args, **kwargs) -> tuple:
    """Execute a node as ComfyUI does (classmethod `execute`) and return its outputs."""
    output = MAPPINGS[node_id].execute(*args, **kwargs)
    assert isinstance(output, io.NodeOutput)
    return output.args


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
    with torch.inference_mode(False):
        return random_content_net(seed=0).eval()


@pytest.fixture(scope="module")
def texture():
    with torch.inference_mode():  # ComfyUI runs every node under inference mode
        (settings,) = run("NPSTextureLoss", "vgg19_random", "", "", 3, 2, "auto")
    return settings


@pytest.fixture(autouse=True)
def comfy_like_execution():
    """Fresh progress/interrupt/memory state, and inference mode around the test, as ComfyUI's executor has."""
    comfy.utils.ProgressBar.instances.clear()
    mm.clear_interrupt()
    mm.calls.clear()
    mm.set_devices()
    with torch.inference_mode():
        yield
    mm.clear_interrupt()
    mm.set_devices()


def outside_equal(result, image, mask):
    """True where mask == 0 the result equals the input bit for bit (ComfyUI layouts)."""
    keep = (mask < 0.5).unsqueeze(-1).expand_as(image)
    return torch.equal(result[keep], image.float()[keep])


def load_pack_copy(name, monkeypatch):
    """Import the repository again under another package name (removed from sys.modules afterwards)."""
    monkeypatch.setattr(sys, "modules", dict(sys.modules))  # every module imported here is forgotten after the test
    return comfy_stubs.load_pack(name)


# ----------------------------------------------------------------------------- registration / metadata

def test_every_expected_node_is_registered_through_the_v3_entry_point():
    assert set(MAPPINGS) == EXPECTED_NODES
    for node_id, cls in MAPPINGS.items():
        assert issubclass(cls, io.ComfyNode)
        assert schema(node_id).display_name.startswith("NPS ")
    # ComfyUI takes the V1 branch whenever NODE_CLASS_MAPPINGS exists and would ignore the entry point.
    assert not hasattr(PACK, "NODE_CLASS_MAPPINGS") and not hasattr(PACK.nodes, "NODE_CLASS_MAPPINGS")
    assert callable(PACK.comfy_entrypoint) and inspect.iscoroutinefunction(PACK.comfy_entrypoint)


@pytest.mark.parametrize("node_id", sorted(EXPECTED_NODES))
def test_node_metadata_is_complete(node_id):
    spec = schema(node_id)
    assert spec.category == "inpaint/NPS"
    assert isinstance(spec.description, str) and len(spec.description) > 40
    assert spec.outputs and all(isinstance(o.tooltip, str) and o.tooltip and o.display_name for o in spec.outputs)
    for item in spec.inputs:
        assert item.tooltip, f"{node_id}.{item.id} has no tooltip"
        if isinstance(item, io.Combo.Input):
            assert item.options, f"{node_id}.{item.id} combo is empty"
            assert item.default in item.options
        elif isinstance(item, (io.Int.Input, io.Float.Input)):
            assert item.min <= item.default <= item.max, f"{node_id}.{item.id} default out of range"
    v1 = MAPPINGS[node_id].INPUT_TYPES()  # what /object_info sends the front end
    for section in v1.values():
        for name, (_kind, options) in section.items():
            assert options.get("tooltip"), f"{node_id}.{name} has no tooltip in INPUT_TYPES"


@pytest.mark.parametrize("node_id", sorted(EXPECTED_NODES))
def test_optional_widgets_default_like_their_widget(node_id):
    """An API-format workflow saved before an optional widget existed lacks that input: execute's
    own default must then equal the widget's, so old workflows run as a new one left at defaults."""
    parameters = inspect.signature(MAPPINGS[node_id].execute).parameters
    for item in schema(node_id).inputs:
        assert item.id in parameters, f"{node_id}: execute has no parameter {item.id}"
        if not item.optional:
            assert parameters[item.id].default is inspect.Parameter.empty, f"{node_id}.{item.id}"
        elif isinstance(item, io.WidgetInput):
            assert parameters[item.id].default == item.default, f"{node_id}.{item.id}"
        else:
            assert parameters[item.id].default is None, f"{node_id}.{item.id}"


def test_shared_widgets_are_defined_once():
    """threshold, feather, alpha/beta/iterations and synthesis_steps look the same on every node."""
    shared = ("threshold", "feather", "alpha", "beta", "synthesis_steps")
    seen: dict = {}
    for node_id in sorted(EXPECTED_NODES):
        for item in schema(node_id).inputs:
            if item.id in shared:
                seen.setdefault(item.id, []).append((type(item), item.min, item.max, item.step))
    assert set(seen) == set(shared)
    for name, specs in seen.items():
        assert len(set(specs)) == 1, f"{name} differs between nodes: {specs}"
    assert all(item.id != "seed" or item.control_after_generate is False for item in schema("NPSInpaint").inputs)


def test_custom_link_types_match_between_producers_and_consumers():
    produced = {o.io_type for node_id in EXPECTED_NODES for o in schema(node_id).outputs}
    consumed = {i.io_type for node_id in EXPECTED_NODES for i in schema(node_id).inputs}
    assert {"NPS_CONTENT_NET", "NPS_TEXTURE", "NPS_WINDOW"} <= produced & consumed


def test_synthesis_widgets_default_to_the_core_and_explain_plain_mode():
    from nps_core import defaults

    inpaint_steps = inputs_by_name("NPSInpaint")["synthesis_steps"]
    optimize_steps = inputs_by_name("NPSOptimizeScale")["synthesis_steps"]
    assert inpaint_steps.default == defaults.SYNTHESIS_STEPS and inpaint_steps.min == 0
    assert optimize_steps.default == defaults.SYNTHESIS_FIRST_STEPS and optimize_steps.min == 0
    for item in (inpaint_steps, optimize_steps):
        assert isinstance(item, io.Int.Input)
        assert "0 = off" in item.tooltip and "plain" in item.tooltip
        assert item.optional  # old workflows still load


def test_backbone_combo_defaults_to_a_weights_shipping_backbone():
    from nps_core import defaults
    from nps_core.backbones import BACKBONES

    backbone = inputs_by_name("NPSTextureLoss")["backbone"]
    assert list(backbone.options) == list(BACKBONES)
    assert backbone.default == defaults.BACKBONE
    assert "vgg19" in schema("NPSTextureLoss").description


# ----------------------------------------------------------------------------- loading the pack

def test_pack_imports_its_own_core_not_one_on_sys_path(monkeypatch):
    decoy = types.ModuleType("nps_core")
    decoy.__path__ = []  # an "older installed nps_core": importing anything from it fails
    monkeypatch.setitem(sys.modules, "nps_core", decoy)
    pack = load_pack_copy("nps_pack_decoy", monkeypatch)
    assert pack.nodes.inpaint_node.inpaint is pack.nps_core.pipeline.inpaint
    core_dir = os.path.dirname(os.path.abspath(pack.nps_core.__file__))
    assert core_dir == os.path.join(comfy_stubs.REPO_ROOT, "nps_core")


@pytest.mark.parametrize("version, has_v3, match", [
    ("0.3.40", False, "needs ComfyUI 0.3.64 or newer.*this ComfyUI is 0.3.40"),
    ("0.3.47", True, "needs ComfyUI 0.3.64 or newer.*this ComfyUI is 0.3.47"),
    (None, False, "needs ComfyUI 0.3.64 or newer.*no version number"),
    ("0.3.64", False, "comfy_api.latest failed to import"),
], ids=["old", "old-with-early-v3", "unknown-without-v3", "current-but-broken"])
def test_old_comfyui_fails_to_load_with_one_clear_line(version, has_v3, match, monkeypatch):
    version_module = types.ModuleType("comfyui_version")
    version_module.__version__ = version
    monkeypatch.setitem(sys.modules, "comfyui_version", version_module if version else None)
    if not has_v3:
        monkeypatch.setitem(sys.modules, "comfy_api.latest", None)  # import fails, as on ComfyUI < 0.3.48
    with pytest.raises(ImportError, match=match) as caught:
        load_pack_copy("nps_pack_old_comfy", monkeypatch)
    assert "\n" not in str(caught.value) and "update ComfyUI" in str(caught.value) or "repair" in str(caught.value)


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
    choices = inputs_by_name("NPSContentNetLoader")["model_name"].options
    assert choices[0] == "content_net (shipped)"
    assert "test_content.safetensors" in choices
    (model,) = run("NPSContentNetLoader", "test_content.safetensors")
    assert repr(model.config) == repr(content_net.config) and not model.training  # the pack's own config class
    assert model is not content_net  # read from the file, not handed back
    image = torch.rand(1, 3, 128, 128)
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 40:90, 30:100] = 1
    with torch.no_grad():  # the file is fp16: the loaded network predicts what the saved one does
        torch.testing.assert_close(predict_content(model, image, mask), predict_content(content_net, image, mask),
                                   atol=5e-3, rtol=0)


def test_content_net_loader_names_missing_file():
    with pytest.raises(NPSInputError, match="models/nps"):
        run("NPSContentNetLoader", "does_not_exist.safetensors")


def test_shipped_content_net_loads_the_shipped_file():
    (model,) = run("NPSContentNetLoader", "content_net (shipped)")
    content = PACK.nps_core.content  # the pack's own core (and cache)
    assert model is content.load_content_net(default_content_weights_path(), device=mm.unet_offload_device())
    assert model.config.encoder == "efficientnet_lite0" and model.config.residual_base == "directional"


# ----------------------------------------------------------------------------- texture settings

def test_texture_loss_parses_layers_and_weights():
    from nps_core.backbones import DEFAULT_LAYERS

    layers = ", ".join(DEFAULT_LAYERS["vgg19_random"])
    weights = ", ".join("1" for _ in DEFAULT_LAYERS["vgg19_random"])
    (settings,) = run("NPSTextureLoss", "vgg19_random", layers, weights, 3, 5, "auto")
    assert settings is not None


def test_texture_loss_rejects_non_numeric_weights():
    with pytest.raises(NPSInputError, match="layer_weights"):
        run("NPSTextureLoss", "vgg19_random", "", "one, two", 3, 5, "auto")


def test_texture_loss_rejects_unknown_layer():
    with pytest.raises(NPSInputError):
        run("NPSTextureLoss", "vgg19_random", "no_such_layer", "", 3, 5, "auto")


# ----------------------------------------------------------------------------- window / pyramid

def test_crop_window_outputs_square_crops_and_a_window():
    image, mask = make_image(batch=2, size=96), make_mask(batch=1, size=96, top=30, left=30, height=20, width=20)
    image_before, mask_before = image.clone(), mask.clone()
    crop, crop_mask, window = run("NPSCropWindow", image, mask, 0.5, 2.0, 64)
    assert crop.shape == (2, 64, 64, 3) and crop.dtype == torch.float32 and crop.device.type == "cpu"
    assert crop_mask.shape == (2, 64, 64) and set(crop_mask.unique().tolist()) <= {0.0, 1.0}
    assert crop_mask.sum() == 2 * 20 * 20
    assert torch.equal(image, image_before) and torch.equal(mask, mask_before)
    assert "64x64" in window.describe()


def test_stitch_window_changes_only_the_hole():
    image, mask = make_image(size=96), make_mask(size=96, top=30, left=30, height=20, width=20)
    crop, _crop_mask, window = run("NPSCropWindow", image, mask, 0.5, 2.0, 64)
    black = torch.zeros(1, 32, 32, 3)  # any size: resized to the window
    (out,) = run("NPSStitchWindow", image, mask, black, window, 0)
    assert out.shape == image.shape
    assert outside_equal(out, image, mask)
    assert out[0, 30:50, 30:50].abs().max() == 0
    (same,) = run("NPSStitchWindow", image, mask, crop, window, 0)
    assert torch.equal(same, image)


def test_stitch_window_rejects_another_image():
    image, mask = make_image(size=96), make_mask(size=96, top=30, left=30, height=20, width=20)
    _crop, _m, window = run("NPSCropWindow", image, mask, 0.5, 2.0, 64)
    with pytest.raises(NPSInputError, match="NPS Crop Window"):
        run("NPSStitchWindow", make_image(size=80), mask, _crop, window, 0)
    with pytest.raises(NPSInputError, match="NPS Crop Window"):
        run("NPSStitchWindow", image, mask, _crop, "not a window", 0)


def test_pyramid_down_and_up_sizes_and_conservative_mask():
    image, mask = make_image(size=128), make_mask(size=128, top=41, left=41, height=31, width=31)
    small, small_mask = run("NPSPyramidDown", image, mask, 64)
    assert small.shape == (1, 64, 64, 3) and small_mask.shape == (1, 64, 64)
    assert small_mask.sum() * 4 >= mask.sum()  # the hole never shrinks
    (up,) = run("NPSPyramidUp", small, image)
    assert up.shape == image.shape and up.dtype == torch.float32


def test_pyramid_down_rejects_non_square_and_bad_size():
    with pytest.raises(NPSInputError, match="square"):
        run("NPSPyramidDown", torch.rand(1, 64, 96, 3), torch.zeros(1, 64, 96), 32)
    with pytest.raises(NPSInputError, match="multiple of 8"):
        run("NPSPyramidDown", torch.rand(1, 64, 64, 3), torch.zeros(1, 64, 64), 60)


# ----------------------------------------------------------------------------- content fill

def test_content_fill_keeps_known_pixels_and_fills_the_hole(content_net):
    image, mask = make_image(size=128, dtype=torch.float16), make_mask(size=128)
    before = image.clone()
    (out,) = run("NPSContentFill", content_net, image, mask)
    assert out.shape == (1, 128, 128, 3) and out.dtype == torch.float32 and out.device.type == "cpu"
    assert torch.equal(image, before)
    assert outside_equal(out, image, mask)
    assert not torch.equal(out[0, 40:72, 48:88], image.float()[0, 40:72, 48:88])
    (once,) = run("NPSContentFill", content_net, image, mask, 1)
    assert outside_equal(once, image, mask) and not torch.equal(once, out)  # views=1: one pass, another fill
    with pytest.raises(NPSInputError, match="views"):
        run("NPSContentFill", content_net, image, mask, 3)


# ----------------------------------------------------------------------------- optimise scale

def test_optimize_scale_output_progress_and_no_mutation(content_net, texture):
    image, mask = make_image(size=128), make_mask(size=128)
    (init,) = run("NPSContentFill", content_net, image, mask)
    small_init = init[:, ::2, ::2].contiguous()  # another size: resized by the node
    copies = [t.clone() for t in (image, mask, small_init)]
    out, report = run("NPSOptimizeScale", image, mask, small_init, texture, 0.02, 0.02, 3)
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
    out, _report = run("NPSOptimizeScale", image, mask, grey_init, texture, 0.02, 0.02, 4)
    assert len(comfy.utils.ProgressBar.instances[-1].updates) >= 3  # the run would go on
    checks_before = mm.interrupt_checks
    mm.request_interrupt(after_checks=2)
    with pytest.raises(mm.InterruptProcessingException):
        run("NPSOptimizeScale", image, mask, grey_init, texture, 0.02, 0.02, 50)
    assert mm.interrupt_checks - checks_before == 2  # nothing ran after the cancelled step
    bar = comfy.utils.ProgressBar.instances[-1]
    assert len(bar.updates) == 1


def test_optimize_scale_synthesis_option(content_net, texture):
    from nps_core import defaults
    from nps_core.border_match import match_border
    from nps_core.optimize import optimize_scale
    from nps_core.synthesis import Synthesiser, SynthesisSettings

    image, mask = make_image(size=128), make_mask(size=128)
    (init,) = run("NPSContentFill", content_net, image, mask)
    core = [comfy_bridge.image_to_core(t) for t in (image, init)]
    core_mask = comfy_bridge.mask_to_core(mask, (128, 128), 1, 0.5)
    # 0 = plain: exactly the core's optimisation from init
    plain, report = run("NPSOptimizeScale", image, mask, init, texture, 0.02, 0.02, 2, synthesis_steps=0)
    kwargs = dict(alpha=0.02, beta=0.02, iterations=2, content_sigma=defaults.CONTENT_SIGMA)
    expected, _ = optimize_scale(core[0], core_mask, core[1], texture, **kwargs)
    assert torch.equal(plain, comfy_bridge.image_from_core(expected))
    assert "synthesis" not in report
    # default: a fresh synthesis of init first, then the same optimisation from it
    synth, report = run("NPSOptimizeScale", image, mask, init, texture, 0.02, 0.02, 2)
    steps = defaults.SYNTHESIS_FIRST_STEPS
    matched = match_border(core[1], core[0], core_mask)
    start = Synthesiser(texture, SynthesisSettings(steps=steps, first_steps=steps)).level(core[0], core_mask, matched,
                                                                                          finest=True)
    expected, _ = optimize_scale(core[0], core_mask, start, texture, **kwargs)
    assert torch.equal(synth, comfy_bridge.image_from_core(expected))
    assert not torch.equal(synth, plain) and "synthesis" in report
    assert outside_equal(synth, image, mask)
    with pytest.raises(NPSInputError, match="steps"):
        run("NPSOptimizeScale", image, mask, init, texture, 0.02, 0.02, 2, synthesis_steps=-1)


def test_inpaint_passes_the_synthesis_option(content_net, texture, monkeypatch):
    from nps_core import defaults

    inpaint, synthesis_for_steps = PACK.nps_core.pipeline.inpaint, PACK.nps_core.pipeline.synthesis_for_steps
    inpaint_node = PACK.nodes.inpaint_node
    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["synthesis"])
        return inpaint(*args, **kwargs)

    monkeypatch.setattr(inpaint_node, "inpaint", spy)
    image, mask = make_image(size=128), make_mask(size=128)
    default = run_inpaint(image, mask, content_net, texture, iterations=1, seed=5)
    plain = run("NPSInpaint", image, mask, 0.02, 0.02, 1, 0.5, 0, 5, content_net=content_net, texture=texture,
                synthesis_steps=0)[0]
    assert seen == [synthesis_for_steps(defaults.SYNTHESIS_STEPS, seed=5), synthesis_for_steps(0, seed=5)]
    assert not seen[1].enabled and not torch.equal(default, plain)
    assert outside_equal(plain, image, mask)


def test_optimize_scale_empty_mask_returns_image_unchanged(texture):
    image = make_image(size=64)
    out, _report = run("NPSOptimizeScale", image, torch.zeros(1, 64, 64), image, texture, 0.02, 0.02, 3)
    assert torch.equal(out, image)


# ----------------------------------------------------------------------------- all-in-one

def run_inpaint(image, mask, content_net, texture, iterations=2, seed=0, threshold=0.5):
    return run("NPSInpaint", image, mask, 0.02, 0.02, iterations, threshold, 0, seed,
               content_net=content_net, texture=texture)[0]


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


# ----------------------------------------------------------------------------- honest inputs

def test_inpaint_seed_changes_the_fill_and_the_same_seed_reproduces_it(content_net, texture):
    image, mask = make_image(size=128), make_mask(size=128)
    first = run_inpaint(image, mask, content_net, texture, iterations=1, seed=1)
    other = run_inpaint(image, mask, content_net, texture, iterations=1, seed=2)
    again = run_inpaint(image, mask, content_net, texture, iterations=1, seed=1)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert outside_equal(first, image, mask) and outside_equal(other, image, mask)


def test_inpaint_broadcasts_one_image_over_a_batch_of_masks(content_net, texture):
    image = make_image(batch=1, size=128)
    masks = torch.stack([make_mask(size=128, top=16 + 24 * i, left=20 + 20 * i, height=24, width=28)[0]
                         for i in range(3)])
    out = run_inpaint(image, masks, content_net, texture, iterations=1)
    assert out.shape == (3, 128, 128, 3)
    for i in range(3):
        assert outside_equal(out[i:i + 1], image, masks[i:i + 1])
        hole = masks[i] > 0.5
        assert not torch.equal(out[i][hole], image[0][hole]), f"item {i}: hole not filled"
    crop, crop_mask, window = run("NPSCropWindow", image, masks, 0.5, 2.0, 64)  # the pieces broadcast alike
    assert crop.shape[0] == crop_mask.shape[0] == window.window.batch == 3
    (stitched,) = run("NPSStitchWindow", image, masks, crop, window, 0)
    assert torch.equal(stitched, image.expand(3, -1, -1, -1))


# ----------------------------------------------------------------------------- model memory

def record_moves(module, monkeypatch) -> list:
    """Devices passed to module.to(...), in order (the module still moves)."""
    moves = []
    original = module.to

    def to(*args, **kwargs):
        moves.append(torch.device(args[0] if args else kwargs["device"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "to", to)
    return moves


def test_loaders_put_models_on_the_offload_device(monkeypatch):
    loaders = PACK.nodes.loader_nodes
    seen = []
    for name in ("load_content_net", "make_texture_settings"):
        real = getattr(loaders, name)
        def spy(*args, _real=real, **kwargs):
            seen.append(torch.device(kwargs["device"]))
            return _real(*args, **kwargs)

        monkeypatch.setattr(loaders, name, spy)
    mm.set_devices(compute="cpu:0", offload="cpu")  # distinct devices that both compute on the CPU
    run("NPSContentNetLoader", "content_net (shipped)")
    run("NPSTextureLoss", "vgg19_random", "", "", 3, 2, "auto")
    assert seen == [torch.device("cpu"), torch.device("cpu")]


def test_inpaint_asks_comfyui_for_memory_and_moves_models_only_for_the_run(content_net, texture, monkeypatch):
    inpaint_node = PACK.nodes.inpaint_node
    mm.set_devices(compute="cpu:0", offload="cpu")
    net_moves, texture_moves = record_moves(content_net, monkeypatch), record_moves(texture.extractor, monkeypatch)
    during = {}
    real = inpaint_node.inpaint

    def spy(*args, **kwargs):
        during.update(net=list(net_moves), texture=list(texture_moves), calls=list(mm.calls), device=kwargs["device"])
        return real(*args, **kwargs)

    monkeypatch.setattr(inpaint_node, "inpaint", spy)
    image, mask = make_image(size=128), make_mask(size=128)
    run_inpaint(image, mask, content_net, texture, iterations=1)
    compute, offload = torch.device("cpu:0"), torch.device("cpu")
    assert during["net"] == [compute] and during["texture"] == [compute] and during["device"] == compute
    assert net_moves == [compute, offload] and texture_moves == [compute, offload]  # back after the run
    (kind, needed, device), = during["calls"]  # asked before anything moved
    weights = sum(t.numel() * t.element_size()
                  for m in (content_net, texture.extractor) for t in m.state_dict().values())
    assert kind == "free_memory" and device == compute and needed > weights


def test_models_go_back_to_the_offload_device_when_the_run_is_cancelled(content_net, texture, monkeypatch):
    mm.set_devices(compute="cpu:0", offload="cpu")
    moves = record_moves(texture.extractor, monkeypatch)
    mm.request_interrupt(after_checks=1)
    image, mask = make_image(size=128), make_mask(size=128)
    with pytest.raises(mm.InterruptProcessingException):
        run("NPSOptimizeScale", image, mask, image, texture, 0.02, 0.02, 5, synthesis_steps=0)
    assert moves == [torch.device("cpu:0"), torch.device("cpu")]


def out_of_memory_below(monkeypatch, limit_chunk: int | None) -> list:
    """Make the pack's core run out of memory in optimize_scale while the texture's matching chunk
    is larger than limit_chunk (None: always). Returns the chunk sizes it was called with."""
    pipeline = PACK.nps_core.pipeline
    real = pipeline.optimize_scale
    chunks = []

    def optimize_scale(image, mask, init, texture, **kwargs):
        chunks.append(texture.chunk_elements)
        if limit_chunk is None or texture.chunk_elements > limit_chunk:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(image, mask, init, texture, **kwargs)

    monkeypatch.setattr(pipeline, "optimize_scale", optimize_scale)
    return chunks


def test_out_of_memory_frees_and_retries_once_with_smaller_chunks(content_net, texture, monkeypatch):
    from nps_core import defaults

    chunks = out_of_memory_below(monkeypatch, limit_chunk=texture.chunk_elements // 2)
    image, mask = make_image(size=128), make_mask(size=128)
    out = run_inpaint(image, mask, content_net, texture, iterations=1)
    smaller = texture.chunk_elements // defaults.OOM_RETRY_CHUNK_DIVISOR
    assert chunks[0] == texture.chunk_elements and set(chunks[1:]) == {smaller}  # first level failed, retry ran all
    assert ("soft_empty_cache",) in mm.calls
    frees = [call for call in mm.calls if call[0] == "free_memory"]
    assert len(frees) == 2 and frees[1][1] >= mm.get_total_memory()  # the retry asked for everything
    assert outside_equal(out, image, mask) and texture.chunk_elements == defaults.CHUNK_ELEMENTS  # input untouched


def test_out_of_memory_twice_fails_with_the_core_message(content_net, texture, monkeypatch):
    chunks = out_of_memory_below(monkeypatch, limit_chunk=None)
    mm.set_devices(compute="cpu:0", offload="cpu")
    moves = record_moves(content_net, monkeypatch)
    image, mask = make_image(size=128), make_mask(size=128)
    with pytest.raises(NPSOutOfMemoryError, match=r"out of memory at pyramid level 1/\d .*use a smaller hole"):
        run_inpaint(image, mask, content_net, texture, iterations=1)
    assert len(chunks) == 2  # one retry, no more
    assert moves[-1] == torch.device("cpu")


def test_other_errors_are_not_retried(content_net, texture, monkeypatch):
    pipeline = PACK.nps_core.pipeline
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("some other failure")

    monkeypatch.setattr(pipeline, "optimize_scale", broken)
    with pytest.raises(RuntimeError, match="some other failure"):
        run_inpaint(make_image(size=128), make_mask(size=128), content_net, texture, iterations=1)
    assert calls == [1]


# ----------------------------------------------------------------------------- rough fill as the content

def test_inpaint_content_input_replaces_the_content_network(texture, monkeypatch):
    """A rough fill (any resolution) is the content: its colour carries into the hole, no network is loaded."""
    monkeypatch.setattr(PACK.nodes.inpaint_node, "load_shipped_or_named_content_net",
                        lambda *a: pytest.fail("the content network was loaded although a rough fill was given"))
    monkeypatch.setattr(PACK.nps_core.pipeline, "content_fill",
                        lambda *a: pytest.fail("the content network ran although a rough fill was given"))
    image, mask = make_image(size=128), make_mask(size=128)
    hole = mask[0] > 0.5
    fills = {}
    for colour in (0.1, 0.9):
        rough = torch.full((1, 32, 32, 3), colour)  # a flat low-resolution "inpainter output"
        (fills[colour],) = run("NPSInpaint", image, mask, 0.02, 0.02, 1, 0.5, 0, 0, texture=texture,
                               synthesis_steps=0, content=rough)
        assert outside_equal(fills[colour], image, mask)
    assert float(fills[0.9][0][hole].mean()) > float(fills[0.1][0][hole].mean()) + 0.2


def test_pyproject_states_the_minimum_comfyui_version_the_pack_checks():
    import tomllib

    with open(os.path.join(comfy_stubs.REPO_ROOT, "pyproject.toml"), "rb") as handle:
        tool_comfy = tomllib.load(handle)["tool"]["comfy"]
    assert tool_comfy["requires-comfyui"] == ">=" + PACK.nodes.comfy_requirements.MIN_COMFYUI_TEXT
    readme = open(os.path.join(comfy_stubs.REPO_ROOT, "README.md"), encoding="utf-8").read()
    assert f"ComfyUI {PACK.nodes.comfy_requirements.MIN_COMFYUI_TEXT}" in readme


# ----------------------------------------------------------------------------- settings reach the core unconverted

NPSOptionError = PACK.nps_core.errors.NPSOptionError


@pytest.mark.parametrize("field, value", [
    ("feather", 2.5), ("feather", -1), ("alpha", float("nan")), ("beta", float("inf")), ("iterations", 2.5),
    ("iterations", 10**9), ("threshold", 0.0), ("synthesis_steps", 1.5), ("seed", -1),
])
@pytest.mark.parametrize("hole", [True, False], ids=["hole", "empty-mask"])
def test_inpaint_node_bad_settings_are_the_packs_errors(field, value, hole, content_net, texture):
    settings = dict(alpha=0.02, beta=0.02, iterations=1, threshold=0.5, feather=0, seed=0, synthesis_steps=0)
    settings[field] = value
    mask = make_mask(size=64) if hole else torch.zeros(1, 64, 64)
    with pytest.raises(NPSOptionError, match=field):
        run("NPSInpaint", make_image(size=64), mask, content_net=content_net, texture=texture, **settings)


def test_other_nodes_bad_settings_are_the_packs_errors(content_net, texture):
    image, mask = make_image(size=128), make_mask(size=128)
    with pytest.raises(NPSOptionError, match="window_scale"):
        run("NPSCropWindow", image, mask, 0.5, float("nan"), 64)
    with pytest.raises(NPSOptionError, match="min_size"):
        run("NPSCropWindow", image, mask, 0.5, 2.0, 64.5)
    crop, crop_mask, window = run("NPSCropWindow", image, mask, 0.5, 2.0, 64)
    with pytest.raises(NPSOptionError, match="feather"):
        run("NPSStitchWindow", image, mask, crop, window, 2.5)
    with pytest.raises(NPSOptionError, match="size"):
        run("NPSPyramidDown", crop, crop_mask, 64.5)
    with pytest.raises(NPSOptionError, match="alpha"):
        run("NPSOptimizeScale", crop, crop_mask, crop, texture, float("inf"), 0.02, 1)
    with pytest.raises(NPSOptionError, match="synthesis_steps"):
        run("NPSOptimizeScale", crop, crop_mask, crop, texture, 0.02, 0.02, 1, synthesis_steps=0.5)
