"""Writes the example workflows: UI format (top level, loadable in ComfyUI) and API format (api/).

Both twins come from one description per workflow, so they always agree. Run it after changing
node inputs:  python example_workflows/make_examples.py
tests/test_workflows.py checks that the committed files are what this script writes.
"""

from __future__ import annotations

import json
import os
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE_IMAGE = "nps_example.png"
FRONTEND_VERSION = "1.27.10"

# Widget names in widget order, output types and socket inputs of every node the examples use.
# (LoadImage's second widget is the front end's "upload" button, saved as "image".)
NODE_SPECS = {
    "LoadImage": {"widgets": ["image", "upload"], "inputs": [], "outputs": ["IMAGE", "MASK"], "size": [340, 360]},
    "SaveImage": {"widgets": ["filename_prefix"], "inputs": [("images", "IMAGE")], "outputs": [], "size": [380, 420]},
    "PreviewImage": {"widgets": [], "inputs": [("images", "IMAGE")], "outputs": [], "size": [280, 280]},
    "PreviewAny": {"widgets": [], "inputs": [("source", "*")], "outputs": [], "size": [300, 200]},
    "Note": {"widgets": ["text"], "inputs": [], "outputs": [], "size": [340, 300]},
    "ImageScaleBy": {"widgets": ["upscale_method", "scale_by"], "inputs": [("image", "IMAGE")], "outputs": ["IMAGE"],
                     "size": [300, 90]},
    "NPSInpaint": {
        # seed has control_after_generate off (nodes/schema.py), so the front end adds no control widget
        "widgets": ["alpha", "beta", "iterations", "threshold", "feather", "seed", "synthesis_steps", "content_views"],
        "inputs": [("image", "IMAGE"), ("mask", "MASK"), ("content_net", "NPS_CONTENT_NET"), ("texture", "NPS_TEXTURE"),
                   ("content", "IMAGE")],
        "outputs": ["IMAGE"],
        "size": [360, 378],
    },
    "NPSCropWindow": {
        "widgets": ["threshold", "window_scale", "min_size"],
        "inputs": [("image", "IMAGE"), ("mask", "MASK")],
        "outputs": ["IMAGE", "MASK", "NPS_WINDOW"],
        "size": [300, 160],
    },
    "NPSPyramidDown": {
        "widgets": ["size"], "inputs": [("image", "IMAGE"), ("mask", "MASK")], "outputs": ["IMAGE", "MASK"],
        "size": [280, 110],
    },
    "NPSPyramidUp": {"widgets": [], "inputs": [("image", "IMAGE"), ("like", "IMAGE")], "outputs": ["IMAGE"],
                     "size": [260, 70]},
    "NPSContentNetLoader": {"widgets": ["model_name"], "inputs": [], "outputs": ["NPS_CONTENT_NET"], "size": [300, 70]},
    "NPSContentFill": {
        "widgets": ["views"], "inputs": [("content_net", "NPS_CONTENT_NET"), ("image", "IMAGE"), ("mask", "MASK")],
        "outputs": ["IMAGE"], "size": [280, 124],
    },
    "NPSTextureLoss": {
        "widgets": ["backbone", "layers", "layer_weights", "patch_size", "refresh_every", "weights"],
        "inputs": [], "outputs": ["NPS_TEXTURE"], "size": [300, 200],
    },
    "NPSOptimizeScale": {
        "widgets": ["alpha", "beta", "iterations", "synthesis_steps"],
        "inputs": [("image", "IMAGE"), ("mask", "MASK"), ("init", "IMAGE"), ("texture", "NPS_TEXTURE")],
        "outputs": ["IMAGE", "STRING"],
        "size": [320, 214],
    },
    "NPSStitchWindow": {
        "widgets": ["feather"],
        "inputs": [("image", "IMAGE"), ("mask", "MASK"), ("result", "IMAGE"), ("window", "NPS_WINDOW")],
        "outputs": ["IMAGE"], "size": [300, 140],
    },
}
OUTPUT_NAMES = {
    "LoadImage": ["IMAGE", "MASK"],
    "NPSOptimizeScale": ["image", "report"],
    "NPSCropWindow": ["image", "mask", "window"],
    "NPSPyramidDown": ["image", "mask"],
    "NPSContentNetLoader": ["content_net"],
    "NPSTextureLoss": ["texture"],
}
FRONTEND_ONLY = {"Note", "MarkdownNote"}
NOT_SENT = {"upload", "control_after_generate"}  # UI-only widgets, absent from API-format inputs

CPU_ITERATIONS = 20


def simple_workflow():
    """LoadImage -> NPSInpaint -> SaveImage."""
    nodes = [
        (1, "LoadImage", "Load Image (transparent = hole)", [0, 0], {"image": EXAMPLE_IMAGE, "upload": "image"}),
        (2, "NPSInpaint", f"NPS Inpaint ({CPU_ITERATIONS} it/level, CPU)", [380, 0],
         {"alpha": 0.02, "beta": 0.02, "iterations": CPU_ITERATIONS, "threshold": 0.5, "feather": 0,
          "seed": 0, "synthesis_steps": 2, "content_views": 8}),
        (3, "SaveImage", None, [780, 0], {"filename_prefix": "nps_inpaint"}),
        (4, "Note", "About this workflow", [0, 420],
         {"text": "NPS Inpaint fills the transparent pixels of the loaded PNG (LoadImage's MASK = 1 - alpha).\n\n"
          f"iterations = {CPU_ITERATIONS} per pyramid level keeps a CPU run to a few minutes for a 512x512 image; "
          "the paper uses 100 (use that on a GPU).\n\nUnconnected content_net / texture use the shipped content "
          "network and efficientnet_lite0 features. Connect NPS Texture Loss with backbone vgg19 (needs its "
          "weights in models/nps) and set synthesis_steps to 0 and content_views to 1 for the paper's setting "
          "(one content network pass, plain optimisation at each level, no synthesis step)."}),
    ]
    links = [(1, 0, 2, "image"), (1, 1, 2, "mask"), (2, 0, 3, "images")]
    return nodes, links, [], {"scale": 1.0, "offset": [80, 120]}


def refine_content_workflow():
    """A rough low-resolution fill refined to full resolution: NPS Inpaint's `content` input.

    The rough fill stands in for any other inpainter (LaMa, MAT, a diffusion inpaint): here the
    photo is shrunk 4x with core ImageScaleBy and filled there by a quick NPS Inpaint (its hole
    pixels are never read, so nothing of the original leaks in); the second NPS Inpaint takes it
    as `content` and adds texture up to the full 512 px.
    """
    settings = {"alpha": 0.02, "beta": 0.02, "threshold": 0.5, "feather": 0, "seed": 0, "synthesis_steps": 2,
                "content_views": 8}
    nodes = [
        (1, "LoadImage", "Load Image (transparent = hole)", [0, 0], {"image": EXAMPLE_IMAGE, "upload": "image"}),
        (2, "ImageScaleBy", "Shrink 4x (stand-in: a low-res inpainter's input)", [370, 0],
         {"upscale_method": "area", "scale_by": 0.25}),
        (3, "NPSInpaint", "Rough fill @128 px (stand-in for LaMa / MAT)", [370, 140],
         {**settings, "iterations": 10}),
        (4, "PreviewImage", "The rough fill", [760, 0], {}),
        (5, "NPSInpaint", f"NPS Inpaint: refine the rough fill ({CPU_ITERATIONS} it/level)", [760, 320],
         {**settings, "iterations": CPU_ITERATIONS}),
        (6, "SaveImage", None, [1150, 320], {"filename_prefix": "nps_refine"}),
        (7, "Note", "About this workflow", [0, 420],
         {"text": "Any inpainter's fill can be the content: connect it to NPS Inpaint's 'content' input. Its "
          "resolution does not matter (the pyramid starts at the level closest to it) and only its pixels in "
          "the hole are used; NPS then adds real texture from the photo up to full resolution.\n\n"
          "Here the rough fill is a quick NPS Inpaint of the photo shrunk 4x, so that the graph needs only "
          "core nodes. With Acly's comfyui-inpaint-nodes, use LaMa instead: Load Inpaint Model (big-lama.pt) "
          "-> Inpaint (using Model) with this image and mask -> its IMAGE into 'content' (same for MAT or "
          "a diffusion inpaint's decoded image)."}),
    ]
    links = [
        (1, 0, 2, "image"),
        (2, 0, 3, "image"), (1, 1, 3, "mask"),
        (3, 0, 4, "images"),
        (1, 0, 5, "image"), (1, 1, 5, "mask"), (3, 0, 5, "content"),
        (5, 0, 6, "images"),
    ]
    return nodes, links, [], {"scale": 0.8, "offset": [60, 120]}


def three_scale_workflow():
    """The pipeline spelled out: window, 128/256/512 pyramid, content fill, three optimisations, stitch."""
    it = {"alpha": 0.02, "beta": 0.02, "synthesis_steps": 4}
    nodes = [
        (1, "LoadImage", "Load Image (transparent = hole)", [0, 0], {"image": EXAMPLE_IMAGE, "upload": "image"}),
        (2, "NPSCropWindow", None, [370, 0], {"threshold": 0.5, "window_scale": 2.0, "min_size": 128}),
        (5, "NPSContentNetLoader", None, [370, 230], {"model_name": "content_net (shipped)"}),
        (7, "NPSTextureLoss", None, [370, 350],
         {"backbone": "efficientnet_lite0", "layers": "", "layer_weights": "", "patch_size": 3,
          "refresh_every": 10, "weights": "auto"}),
        (3, "NPSPyramidDown", "NPS Pyramid Down @128", [710, 0], {"size": 128}),
        (4, "NPSPyramidDown", "NPS Pyramid Down @256", [710, 170], {"size": 256}),
        (6, "NPSContentFill", "NPS Content Fill @128", [1060, 0], {"views": 8}),
        (15, "PreviewImage", "Content prediction @128", [1060, 150], {}),
        (8, "NPSOptimizeScale", "NPS Optimize @128 (30 it)", [1370, 0], {**it, "iterations": 30}),
        (9, "NPSPyramidUp", "NPS Pyramid Up -> 256", [370, 660], {}),
        (10, "NPSOptimizeScale", "NPS Optimize @256 (20 it)", [370, 790], {**it, "iterations": 20}),
        (11, "NPSPyramidUp", "NPS Pyramid Up -> window", [740, 660], {}),
        (12, "NPSOptimizeScale", "NPS Optimize @window (10 it)", [740, 790], {**it, "iterations": 10}),
        (13, "NPSStitchWindow", None, [1110, 660], {"feather": 0}),
        (14, "SaveImage", None, [1450, 660], {"filename_prefix": "nps_three_scale"}),
        (17, "PreviewAny", "Loss report (last scale)", [1110, 840], {}),
        (16, "Note", "About this workflow", [0, 400],
         {"text": "The same pipeline as NPS Inpaint, one step per node (Yang et al. 2017, Fig. 2).\n\n"
          "1. NPS Crop Window cuts a square window around the hole (2x its size; 512 px for a 256 px hole).\n"
          "2. The window is shrunk to 128 and 256; the content network fills the hole at 128.\n"
          "3. NPS Optimize Scale refines 128 -> 256 -> window size, each level starting from the "
          "up-sampled previous one: a synthesis step copies matching patches into the hole, then the "
          "optimisation runs (synthesis_steps 0 = the paper's plain optimisation).\n"
          "4. NPS Stitch Window pastes the result into the original image.\n\n"
          "Iterations (30/20/10) are kept small so a CPU run takes a few minutes; the paper uses 100 per level."}),
    ]
    nodes.sort(key=lambda node: node[0])
    links = [
        (1, 0, 2, "image"), (1, 1, 2, "mask"),
        (2, 0, 3, "image"), (2, 1, 3, "mask"),
        (2, 0, 4, "image"), (2, 1, 4, "mask"),
        (5, 0, 6, "content_net"), (3, 0, 6, "image"), (3, 1, 6, "mask"),
        (3, 0, 8, "image"), (3, 1, 8, "mask"), (6, 0, 8, "init"), (7, 0, 8, "texture"),
        (8, 0, 9, "image"), (4, 0, 9, "like"),
        (4, 0, 10, "image"), (4, 1, 10, "mask"), (9, 0, 10, "init"), (7, 0, 10, "texture"),
        (10, 0, 11, "image"), (2, 0, 11, "like"),
        (2, 0, 12, "image"), (2, 1, 12, "mask"), (11, 0, 12, "init"), (7, 0, 12, "texture"),
        (1, 0, 13, "image"), (1, 1, 13, "mask"), (12, 0, 13, "result"), (2, 2, 13, "window"),
        (13, 0, 14, "images"),
        (6, 0, 15, "images"),
        (12, 1, 17, "source"),
    ]
    groups = [
        ("Window, pyramid, models", [350, -80, 650, 650]),
        ("Scale 128", [1040, -80, 660, 530]),
        ("Scale 256", [350, 580, 350, 430]),
        ("Scale = window", [720, 580, 350, 430]),
    ]
    return nodes, links, groups, {"scale": 0.65, "offset": [60, 130]}


def output_name(node_type: str, slot: int) -> str:
    names = OUTPUT_NAMES.get(node_type)
    return names[slot] if names else NODE_SPECS[node_type]["outputs"][slot]


def to_ui(nodes, links, groups, view) -> dict:
    """UI format (what the front end's Save writes): nodes, links, widgets_values in widget order."""
    types_by_id = {node_id: node_type for node_id, node_type, *_ in nodes}
    ui_links = []
    for link_id, (src, slot, dst, name) in enumerate(links, start=1):
        ui_links.append([link_id, src, slot, dst, [n for n, _t in NODE_SPECS[types_by_id[dst]]["inputs"]].index(name),
                         NODE_SPECS[types_by_id[src]]["outputs"][slot]])
    order = topological_order(nodes, links)
    ui_nodes = []
    for node_id, node_type, title, pos, widgets in nodes:
        spec = NODE_SPECS[node_type]
        inputs = []
        for index, (name, kind) in enumerate(spec["inputs"]):
            link = next((lk[0] for lk in ui_links if lk[3] == node_id and lk[4] == index), None)
            inputs.append({"name": name, "type": kind, "link": link})
        outputs = []
        for slot, kind in enumerate(spec["outputs"]):
            out_links = [lk[0] for lk in ui_links if lk[1] == node_id and lk[2] == slot]
            outputs.append({"name": output_name(node_type, slot), "type": kind, "links": out_links or None,
                            "slot_index": slot})
        node = {
            "id": node_id, "type": node_type, "pos": pos, "size": spec["size"], "flags": {},
            "order": order.index(node_id), "mode": 0, "inputs": inputs, "outputs": outputs,
            "properties": {"Node name for S&R": node_type},
            "widgets_values": [widgets[name] for name in spec["widgets"]],
        }
        if node_type in FRONTEND_ONLY:
            node["properties"] = {}
            node["color"], node["bgcolor"] = "#432", "#653"
        if title:
            node["title"] = title
        ui_nodes.append(node)
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "nps-inpaint/" + json.dumps([n[:2] for n in nodes]))),
        "revision": 0,
        "last_node_id": max(n[0] for n in nodes),
        "last_link_id": len(ui_links),
        "nodes": ui_nodes,
        "links": ui_links,
        "groups": [
            {"id": i, "title": title, "bounding": box, "color": "#3f789e", "font_size": 24, "flags": {}}
            for i, (title, box) in enumerate(groups, start=1)
        ],
        "config": {},
        "extra": {"ds": view, "frontendVersion": FRONTEND_VERSION},
        "version": 0.4,
    }


def to_api(nodes, links) -> dict:
    """API format (what POST /prompt accepts): {id: {class_type, inputs, _meta}}."""
    api = {}
    for node_id, node_type, title, _pos, widgets in nodes:
        if node_type in FRONTEND_ONLY:
            continue
        inputs = {name: value for name, value in widgets.items() if name not in NOT_SENT}
        for src, slot, dst, name in links:
            if dst == node_id:
                inputs[name] = [str(src), slot]
        api[str(node_id)] = {"class_type": node_type, "inputs": inputs, "_meta": {"title": title or node_type}}
    return api


def topological_order(nodes, links) -> list:
    remaining = [n[0] for n in nodes]
    done: list = []
    while remaining:
        for node_id in remaining:
            if all(src in done for src, _s, dst, _n in links if dst == node_id):
                done.append(node_id)
                remaining.remove(node_id)
                break
    return done


WORKFLOWS = {"nps_inpaint_simple": simple_workflow, "nps_inpaint_three_scale": three_scale_workflow,
             "nps_refine_content": refine_content_workflow}


def render() -> dict:
    """{relative path: JSON text} of every example file."""
    files = {}
    for name, build in WORKFLOWS.items():
        nodes, links, groups, view = build()
        files[f"{name}.json"] = json.dumps(to_ui(nodes, links, groups, view), indent=2) + "\n"
        files[f"api/{name}.json"] = json.dumps(to_api(nodes, links), indent=2) + "\n"
    return files


def main() -> None:
    for relative, text in render().items():
        path = os.path.join(HERE, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        print("wrote", path)


if __name__ == "__main__":
    main()
