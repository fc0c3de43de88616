"""Widget definitions of the per-scale objective's weights, shared by NPS Inpaint and NPS Optimize Scale."""

from __future__ import annotations

from nps_core import defaults


def loss_weight_inputs(iterations_tooltip: str) -> dict:
    """`alpha`, `beta` and `iterations` widgets (ComfyUI INPUT_TYPES entries) with the core's defaults."""
    return {
        "alpha": (
            "FLOAT",
            {"default": float(defaults.ALPHA), "min": 0.0, "max": 1e6, "step": 0.0001,
             "tooltip": "Texture-loss weight relative to the content loss: higher = sharper, more copied "
             "texture; lower = closer to the content prediction. Features are normalised, so the "
             "paper's 5e-6 (raw VGG features) does not carry over; 0.02 is calibrated."},
        ),
        "beta": (
            "FLOAT",
            {"default": float(defaults.BETA), "min": 0.0, "max": 1e6, "step": 0.0001,
             "tooltip": "Total-variation (smoothness) weight: higher = smoother fill."},
        ),
        "iterations": (
            "INT",
            {"default": int(defaults.ITERATIONS), "min": 1, "max": 10000, "tooltip": iterations_tooltip},
        ),
    }
