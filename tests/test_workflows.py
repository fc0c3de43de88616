"""The example workflows: UI files match the nodes' widgets, API files run end to end, thumbnails exist.

A tiny executor resolves the API-format links and calls each V3 node's `execute` (stand-ins' FUNCTION
for ComfyUI's LoadImage/SaveImage/PreviewImage/PreviewAny). Widget names and kinds come from the
nodes' V1-style INPUT_TYPES (what ComfyUI's /object_info sends the front end). The workflows are
patched for speed: a 256 px image, `vgg19_random` texture features, a seeded random content network
(saved to models/nps and loaded by the real loader node) and 2 iterations per scale.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile

import comfy_stubs
import numpy as np
import pytest
import torch
from PIL import Image

comfy_stubs.install(tempfile.mkdtemp(prefix="nps_models_"))

import folder_paths  # noqa: E402
from comfy_api.latest import io  # noqa: E402

from nps_core.content import random_content_net, save_content_net  # noqa: E402

NODES = comfy_stubs.node_classes(comfy_stubs.load_pack())

WORKFLOW_DIR = os.path.join(comfy_stubs.REPO_ROOT, "example_workflows")
API_DIR = os.path.join(WORKFLOW_DIR, "api")
UI_FILES = sorted(f for f in os.listdir(WORKFLOW_DIR) if f.endswith(".json"))
API_FILES = sorted(f for f in os.listdir(API_DIR) if f.endswith(".json"))
FRONTEND_ONLY = {"Note", "MarkdownNote"}
CORE_WIDGETS = {"LoadImage": ["image", "upload"], "SaveImage": ["filename_prefix"], "PreviewImage": [],
                "PreviewAny": [], "ImageScaleBy": ["upscale_method", "scale_by"]}
WIDGET_KINDS = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
CORE_SOCKETS = {"LoadImage": {}, "SaveImage": {"images": "IMAGE"}, "PreviewImage": {"images": "IMAGE"},
                "PreviewAny": {"source": "*"}, "ImageScaleBy": {"image": "IMAGE"}}
TEST_CONTENT_NET = "test_random_content.safetensors"
SIZE, HOLE = 256, (96, 80, 64, 96)  # image side; hole top, left, height, width


# ----------------------------------------------------------------------------- stand-ins

def load_image_standin(image_dir):
    class LoadImage:
        FUNCTION = "load_image"

        def load_image(self, image):
            picture = Image.open(os.path.join(image_dir, image))
            rgba = np.asarray(picture.convert("RGBA"), dtype=np.float32) / 255.0
            tensor = torch.from_numpy(rgba)
            return tensor[None, ..., :3].contiguous(), (1.0 - tensor[None, ..., 3]).contiguous()

    return LoadImage


class SaveImage:
    FUNCTION = "save_images"
    saved: list = []

    def save_images(self, images, filename_prefix="ComfyUI"):
        SaveImage.saved.append((filename_prefix, images))
        return {"ui": {"images": []}}


class PreviewImage(SaveImage):
    def save_images(self, images, filename_prefix="preview"):
        return {"ui": {"images": []}}


class PreviewAny:
    FUNCTION = "main"
    shown: list = []

    def main(self, source=None):
        PreviewAny.shown.append(source)
        return {"ui": {"text": (str(source),)}}


class ImageScaleBy:
    FUNCTION = "upscale"

    def upscale(self, image, upscale_method, scale_by):
        assert upscale_method in ("nearest-exact", "bilinear", "area", "bicubic", "lanczos")
        size = [round(image.shape[1] * scale_by), round(image.shape[2] * scale_by)]
        mode = "area" if upscale_method == "area" else "bilinear"
        return (torch.nn.functional.interpolate(image.movedim(-1, 1), size=size, mode=mode).movedim(1, -1),)


def run_api_workflow(prompt: dict, classes: dict) -> dict:
    """Execute an API-format prompt: every node once, inputs resolved through links. Returns outputs by id."""
    outputs: dict = {}

    def evaluate(node_id: str):
        if node_id in outputs:
            return outputs[node_id]
        node = prompt[node_id]
        kwargs = {}
        for name, value in node["inputs"].items():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                kwargs[name] = evaluate(value[0])[value[1]]
            else:
                kwargs[name] = value
        cls = classes[node["class_type"]]
        if isinstance(cls, type) and issubclass(cls, io.ComfyNode):
            result = cls.execute(**kwargs).args
        else:
            result = getattr(cls(), cls.FUNCTION)(**kwargs)
        outputs[node_id] = result
        return result

    with torch.inference_mode():  # as ComfyUI's executor
        for node_id in prompt:
            evaluate(node_id)
    return outputs


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def example_dir():
    """A 256 px RGBA picture whose transparent rectangle is the hole, as nps_example.png."""
    folder = tempfile.mkdtemp(prefix="nps_input_")
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    rgb = np.stack([0.5 + 0.4 * np.sin(xs / 7.0), 0.5 + 0.4 * np.cos(ys / 5.0),
                    0.4 + 0.3 * np.sin((xs + ys) / 11.0)], -1)
    alpha = np.ones((SIZE, SIZE), dtype=np.float32)
    top, left, height, width = HOLE
    alpha[top:top + height, left:left + width] = 0.0
    rgba = (np.concatenate([rgb, alpha[..., None]], -1) * 255).round().astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(os.path.join(folder, "nps_example.png"))
    return folder


@pytest.fixture(scope="module")
def classes(example_dir):
    nps_folder = os.path.join(folder_paths.models_dir, "nps")
    os.makedirs(nps_folder, exist_ok=True)
    save_content_net(random_content_net(seed=1), os.path.join(nps_folder, TEST_CONTENT_NET))
    return {
        **NODES,
        "LoadImage": load_image_standin(example_dir),
        "SaveImage": SaveImage,
        "PreviewImage": PreviewImage,
        "PreviewAny": PreviewAny,
        "ImageScaleBy": ImageScaleBy,
    }


def patch_for_test(prompt: dict) -> dict:
    """Fast settings: vgg19_random texture, test content net, 2 iterations; all-in-one gets both connected."""
    prompt = copy.deepcopy(prompt)
    for node in list(prompt.values()):
        inputs = node["inputs"]
        if node["class_type"] == "NPSTextureLoss":
            inputs.update(backbone="vgg19_random", weights="auto", refresh_every=2)
        if node["class_type"] == "NPSContentNetLoader":
            inputs["model_name"] = TEST_CONTENT_NET
        if "iterations" in inputs:
            inputs["iterations"] = 2
    for node in list(prompt.values()):
        if node["class_type"] == "NPSInpaint":
            prompt["900"] = {"class_type": "NPSContentNetLoader", "inputs": {"model_name": TEST_CONTENT_NET}}
            prompt["901"] = {"class_type": "NPSTextureLoss", "inputs": {
                "backbone": "vgg19_random", "layers": "", "layer_weights": "", "patch_size": 3,
                "refresh_every": 2, "weights": "auto"}}
            node["inputs"].update(content_net=["900", 0], texture=["901", 0])
    return prompt


# ----------------------------------------------------------------------------- API workflows

def test_both_workflows_exist_in_both_formats():
    expected = {"nps_inpaint_simple.json", "nps_inpaint_three_scale.json", "nps_refine_content.json"}
    assert expected <= set(UI_FILES) and expected <= set(API_FILES)


def test_committed_files_are_what_the_generator_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples", os.path.join(WORKFLOW_DIR, "make_examples.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for relative, text in module.render().items():
        with open(os.path.join(WORKFLOW_DIR, relative), encoding="utf-8") as handle:
            assert handle.read() == text, f"{relative} is stale: run python example_workflows/make_examples.py"


@pytest.mark.parametrize("name", API_FILES)
def test_api_workflow_runs_and_fills_only_the_hole(name, classes, example_dir):
    with open(os.path.join(API_DIR, name), encoding="utf-8") as handle:
        prompt = json.load(handle)
    assert all(node["class_type"] in classes for node in prompt.values())
    SaveImage.saved.clear()
    PreviewAny.shown.clear()
    run_api_workflow(patch_for_test(prompt), classes)
    assert all(isinstance(text, str) and text for text in PreviewAny.shown), "empty loss report"
    assert len(SaveImage.saved) == 1
    _prefix, result = SaveImage.saved[0]
    image, mask = classes["LoadImage"]().load_image("nps_example.png")
    assert result.shape == image.shape == (1, SIZE, SIZE, 3)
    assert result.dtype == torch.float32 and torch.isfinite(result).all()
    known = (mask < 0.5).unsqueeze(-1).expand_as(image)
    assert torch.equal(result[known], image[known]), "pixels outside the hole changed"
    top, left, height, width = HOLE
    assert (result - image)[0, top:top + height, left:left + width].abs().mean() > 1e-3, "hole was not filled"


# ----------------------------------------------------------------------------- UI workflows

def input_specs(node_type: str) -> dict:
    """{name: (kind, options)} of a pack node, required then optional (the front end's order)."""
    spec = NODES[node_type].INPUT_TYPES()
    return {name: d for section in ("required", "optional") for name, d in spec.get(section, {}).items()}


def has_control_widget(name: str, options: dict) -> bool:
    """The front end adds a control_after_generate widget when asked, or (unset) for INTs named seed/noise_seed."""
    control = options.get("control_after_generate")
    return bool(name in ("seed", "noise_seed") if control is None else control)


def widget_names(node_type: str) -> list[str]:
    """Widget names in the order the front end creates them (control_after_generate after its number)."""
    if node_type in CORE_WIDGETS:
        return CORE_WIDGETS[node_type]
    names = []
    for name, (kind, options) in input_specs(node_type).items():
        if kind in WIDGET_KINDS:
            names.append(name)
            if kind == "INT" and has_control_widget(name, options):
                names.append("control_after_generate")
    return names


def socket_types(node_type: str) -> dict:
    if node_type in CORE_SOCKETS:
        return CORE_SOCKETS[node_type]
    return {name: kind for name, (kind, _o) in input_specs(node_type).items() if kind not in WIDGET_KINDS}


def output_types(node_type: str) -> list:
    if node_type in ("LoadImage", "ImageScaleBy"):
        return {"LoadImage": ["IMAGE", "MASK"], "ImageScaleBy": ["IMAGE"]}[node_type]
    return [o.io_type for o in NODES[node_type].GET_SCHEMA().outputs] if node_type in NODES else []


@pytest.mark.parametrize("name", UI_FILES)
def test_ui_workflow_matches_the_nodes(name):
    with open(os.path.join(WORKFLOW_DIR, name), encoding="utf-8") as handle:
        workflow = json.load(handle)
    by_id = {node["id"]: node for node in workflow["nodes"]}
    for node in workflow["nodes"]:
        node_type = node["type"]
        if node_type in FRONTEND_ONLY:
            continue
        assert node_type in NODES or node_type in CORE_WIDGETS, f"unknown node {node_type}"
        names = widget_names(node_type)
        assert len(node.get("widgets_values", [])) == len(names), f"{name}: node {node['id']} {node_type} widgets"
        if node_type in NODES:
            options = input_specs(node_type)
            for widget, value in zip(names, node["widgets_values"], strict=True):
                if widget == "control_after_generate":
                    assert value in ("fixed", "increment", "decrement", "randomize")
                    continue
                kind, extra = options[widget]
                if kind == "COMBO":
                    assert value in extra["options"], f"{node_type}.{widget}={value!r} not in {extra['options']}"
                elif kind in ("INT", "FLOAT"):
                    assert extra["min"] <= value <= extra["max"], f"{node_type}.{widget}={value} out of range"
        sockets = socket_types(node_type)
        for slot in node.get("inputs", []):
            assert sockets.get(slot["name"]) == slot["type"], f"{node_type} has no {slot['type']} input {slot['name']}"
    for link_id, src, src_slot, dst, dst_slot, kind in workflow["links"]:
        assert output_types(by_id[src]["type"])[src_slot] == kind, f"link {link_id} source type"
        target = by_id[dst]["inputs"][dst_slot]
        assert target["type"] in (kind, "*") and target["link"] == link_id, f"link {link_id} target"
        assert link_id in (by_id[src]["outputs"][src_slot]["links"] or [])
    required_sockets = {
        node["id"]: [n for n in NODES[node["type"]].INPUT_TYPES()["required"] if n in socket_types(node["type"])]
        for node in workflow["nodes"] if node["type"] in NODES
    }
    for node_id, required in required_sockets.items():
        connected = {slot["name"] for slot in by_id[node_id]["inputs"] if slot["link"] is not None}
        assert set(required) <= connected, f"node {node_id} has unconnected required inputs"


@pytest.mark.parametrize("name", UI_FILES)
def test_ui_and_api_twins_agree(name):
    with open(os.path.join(WORKFLOW_DIR, name), encoding="utf-8") as handle:
        workflow = json.load(handle)
    with open(os.path.join(API_DIR, name), encoding="utf-8") as handle:
        prompt = json.load(handle)
    real = [node for node in workflow["nodes"] if node["type"] not in FRONTEND_ONLY]
    assert {str(node["id"]): node["type"] for node in real} == {k: v["class_type"] for k, v in prompt.items()}
    for node in real:
        values = dict(zip(widget_names(node["type"]), node.get("widgets_values", []), strict=True))
        for widget, value in values.items():
            if widget not in ("upload", "control_after_generate"):
                assert prompt[str(node["id"])]["inputs"][widget] == value


@pytest.mark.parametrize("name", UI_FILES)
def test_every_ui_workflow_has_its_thumbnail(name):
    """ComfyUI's template browser shows <name>.jpg next to <name>.json."""
    thumbnail = os.path.join(WORKFLOW_DIR, name[: -len(".json")] + ".jpg")
    assert os.path.isfile(thumbnail), f"{name} has no thumbnail {os.path.basename(thumbnail)}"
    with Image.open(thumbnail) as picture:
        assert picture.format == "JPEG" and min(picture.size) >= 128
