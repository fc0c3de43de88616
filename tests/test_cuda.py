"""CUDA: the pipeline and the nodes on a GPU (skipped without one; bench/gpu_check.sh runs this first).

With ComfyUI's stand-ins set to compute on "cuda", keep models on the CPU (offload device) and hand
results back on the CPU (intermediate device), as ComfyUI does on a GPU machine. Small images,
seeded random models: seconds on any CUDA GPU.
"""

from __future__ import annotations

import tempfile

import pytest
import torch

if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

import comfy_stubs  # noqa: E402

comfy_stubs.install(tempfile.mkdtemp(prefix="nps_models_"))

import comfy.model_management as mm  # noqa: E402
from conftest import square_mask, striped_image  # noqa: E402

PACK = comfy_stubs.load_pack()
NODES = comfy_stubs.node_classes(PACK)
core = PACK.nps_core
CUDA = torch.device("cuda", torch.cuda.current_device())
CPU = torch.device("cpu")


def comfy_image(size=128, batch=1):
    return striped_image(size, batch).permute(0, 2, 3, 1).contiguous()  # [B,H,W,3] on the CPU


def comfy_mask(size=128, top=40, left=44, side=40, batch=1):
    return square_mask(size, top, left, side, batch)[:, 0]


def outside_equal(result, image, mask):
    keep = (mask < 0.5).unsqueeze(-1).expand_as(image)
    return torch.equal(result[keep], image[keep])


def parameter_devices(module) -> set:
    return {p.device.type for p in module.parameters()} | {b.device.type for b in module.buffers()}


@pytest.fixture()
def comfy_on_gpu():
    """ComfyUI on a GPU machine: compute on CUDA, models idle on the CPU, outputs on the CPU."""
    mm.set_devices(compute=CUDA, offload="cpu", intermediate="cpu")
    mm.calls.clear()
    with torch.inference_mode():  # as ComfyUI's executor
        yield
    mm.set_devices()


@pytest.fixture(scope="module")
def content_net():
    return core.content_net.random_content_net(seed=0).eval()


def test_pipeline_runs_on_cuda(content_net):
    texture = core.texture.make_texture_settings("vgg19_random", device=CUDA)
    image, mask = striped_image(128).to(CUDA), square_mask(128, 40, 44, 40).to(CUDA)
    result = core.pipeline.inpaint(image, mask, content_net=content_net.to(CUDA), texture=texture, iterations=3,
                                   device=CUDA)
    content_net.to(CPU)
    out = result.image
    assert out.device.type == "cuda" and out.dtype == torch.float32 and torch.isfinite(out).all()
    known = (mask < 0.5).expand_as(image)
    assert torch.equal(out[known], image[known])
    assert not torch.equal(out[~known], image[~known])


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_matching_picks_near_best_sources(precision):
    """bf16/fp16 banks: the chosen source's fp32 similarity is within rounding of the best one."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    g = torch.Generator().manual_seed(0)
    queries = torch.randn(700, 288, generator=g).to(CUDA)
    bank = core.patches.normalise_rows(torch.randn(3000, 288, generator=g)).to(CUDA)
    picked = core.patches.nearest_sources(queries, bank.to(dtype), chunk_elements=1 << 18)
    exact = core.patches.nearest_sources(queries, bank, chunk_elements=1 << 18)
    unit = core.patches.normalise_rows(queries)
    sim_picked = (unit * bank[picked]).sum(1)
    sim_best = (unit * bank[exact]).sum(1)
    assert picked.device.type == "cuda"
    assert float((sim_best - sim_picked).max()) < 2e-2
    assert float((picked == exact).float().mean()) > 0.8


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_pipeline_in_reduced_precision_stays_close_to_fp32(precision, content_net):
    image, mask = striped_image(128).to(CUDA), square_mask(128, 40, 44, 40).to(CUDA)
    outs = {}
    for p in ("fp32", precision):
        texture = core.texture.make_texture_settings("vgg19_random", device=CUDA, precision=p)
        assert texture.match_dtype == {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[p]
        outs[p] = core.pipeline.inpaint(image, mask, content_net=content_net.to(CUDA), texture=texture,
                                        iterations=3, device=CUDA).image
    content_net.to(CPU)
    hole = (mask > 0.5).expand_as(image)
    assert torch.isfinite(outs[precision]).all()
    assert torch.equal(outs[precision][~hole], image[~hole])
    assert float((outs[precision] - outs["fp32"])[hole].abs().mean()) < 0.1


def test_nodes_run_on_cuda_and_hand_results_back_on_the_cpu(comfy_on_gpu, content_net):
    (texture,) = NODES["NPSTextureLoss"].execute("vgg19_random", "", "", 3, 2, "auto").args
    assert parameter_devices(texture.extractor) == {"cpu"}  # loaded on the offload device
    image, mask = comfy_image(), comfy_mask()
    for _ in range(2):  # a second run: the moved weights must still be differentiable (not inference tensors)
        (out,) = NODES["NPSInpaint"].execute(image, mask, 0.02, 0.02, 2, 0.5, 0, 0, content_net=content_net,
                                             texture=texture).args
        assert out.device.type == "cpu" and out.dtype == torch.float32 and out.shape == image.shape
        assert outside_equal(out, image, mask)
        assert parameter_devices(texture.extractor) == {"cpu"} and parameter_devices(content_net) == {"cpu"}
    assert ("free_memory", mm.calls[0][1], CUDA) == mm.calls[0] and ("soft_empty_cache",) in mm.calls
    (fill,) = NODES["NPSContentFill"].execute(content_net, image, mask).args
    assert fill.device.type == "cpu" and outside_equal(fill, image, mask)
    result, report = NODES["NPSOptimizeScale"].execute(image, mask, fill, texture, 0.02, 0.02, 2).args
    assert result.device.type == "cpu" and outside_equal(result, image, mask) and report
    assert parameter_devices(texture.extractor) == {"cpu"}


def test_out_of_memory_on_cuda_retries_once_with_smaller_chunks(comfy_on_gpu, content_net, monkeypatch):
    (texture,) = NODES["NPSTextureLoss"].execute("vgg19_random", "", "", 3, 2, "auto").args
    chunks = []
    real = core.synthesis.exhaustive_field

    def exhaustive_field(desc, shape, queries, source, max_sources, chunk_elements=1 << 24):
        chunks.append(chunk_elements)
        if chunk_elements >= texture.chunk_elements:  # the first try's chunk "does not fit"
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 64.00 MiB")
        return real(desc, shape, queries, source, max_sources, chunk_elements)

    monkeypatch.setattr(core.synthesis, "exhaustive_field", exhaustive_field)
    image, mask = comfy_image(), comfy_mask()
    (out,) = NODES["NPSInpaint"].execute(image, mask, 0.02, 0.02, 2, 0.5, 0, 0, content_net=content_net,
                                         texture=texture).args
    assert chunks[0] == texture.chunk_elements and all(c < texture.chunk_elements for c in chunks[1:])
    assert out.device.type == "cpu" and outside_equal(out, image, mask)
    assert parameter_devices(texture.extractor) == {"cpu"}
