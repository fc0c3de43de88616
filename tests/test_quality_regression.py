"""Quality regression: the shipped model and the default pipeline on an image with a known answer.

The image is two flat-ish regions split by a straight, slanted edge, with fine seeded noise; the
hole sits across the edge. The right fill continues the edge straight through the hole, so the
truth under the hole is known. A mean fill (the hole's average colour) is the floor any inpainter
must clear. Assertion: the default pipeline (shipped content network, default texture backbone,
default settings except ITERATIONS L-BFGS iterations instead of 50, so the test stays a few seconds
of CPU while every stage still runs) has at most L1_RATIO times the mean fill's hole L1 error and
at least MARGIN_DB more hole PSNR. With the current shipped file: L1 0.052 vs 0.225 (ratio 0.23),
PSNR 21.7 vs 12.1 dB (the test prints its numbers); a change that breaks the content network, its
file, the window/pyramid plumbing, the synthesis or the texture stage fails it.
"""

from __future__ import annotations

import math

import pytest
import torch

from nps_core import defaults
from nps_core.content import mean_fill
from nps_core.pipeline import inpaint

SIDE = 96            # one 128 px window, one pyramid level: a few seconds on CPU
L1_RATIO = 0.5       # pipeline hole L1 <= L1_RATIO x mean fill's
MARGIN_DB = 4.0      # pipeline hole PSNR >= mean fill's + MARGIN_DB
ITERATIONS = 5       # L-BFGS iterations (the default is defaults.ITERATIONS = 50)


def edge_image(side: int = SIDE) -> torch.Tensor:
    """[1,3,side,side] in 0..1: warm top-left, cool bottom-right of the line y = 0.35 x + 0.3 side."""
    g = torch.Generator().manual_seed(14)
    yy, xx = torch.meshgrid(torch.arange(side, dtype=torch.float32), torch.arange(side, dtype=torch.float32),
                            indexing="ij")
    below = (yy > 0.35 * xx + 0.3 * side).float()
    warm = torch.tensor([0.85, 0.55, 0.25]).view(3, 1, 1)
    cool = torch.tensor([0.15, 0.35, 0.70]).view(3, 1, 1)
    image = warm * (1 - below) + cool * below + 0.03 * torch.randn(3, side, side, generator=g)
    return image.clamp(0, 1)[None]


def hole_errors(result: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> tuple[float, float]:
    """(mean absolute error, PSNR in dB) over the hole pixels."""
    sel = hole.expand_as(truth) > 0.5
    diff = (result - truth)[sel]
    mse = float(diff.pow(2).mean())
    return float(diff.abs().mean()), 10 * math.log10(1.0 / max(mse, 1e-12))


@pytest.mark.skipif(defaults.BACKBONE == "vgg19", reason="the default backbone needs a weights file")
def test_default_pipeline_beats_a_mean_fill_on_a_straight_edge():
    truth = edge_image()
    hole = torch.zeros(1, 1, SIDE, SIDE)
    hole[..., 30:62, 34:66] = 1  # 32 x 32, across the edge
    given = torch.where(hole > 0.5, torch.rand(truth.shape, generator=torch.Generator().manual_seed(1)), truth)

    result = inpaint(given, hole, iterations=ITERATIONS).image  # shipped weights, default backbone
    pipeline_l1, pipeline_psnr = hole_errors(result, truth, hole)
    mean_l1, mean_psnr = hole_errors(mean_fill(given, hole), truth, hole)
    print(f"hole L1 {pipeline_l1:.4f} vs mean fill {mean_l1:.4f}; PSNR {pipeline_psnr:.2f} vs {mean_psnr:.2f} dB")

    assert torch.equal(result[hole.expand_as(result) < 0.5], given[hole.expand_as(given) < 0.5])
    assert pipeline_l1 <= L1_RATIO * mean_l1
    assert pipeline_psnr >= mean_psnr + MARGIN_DB
