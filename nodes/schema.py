"""V3 schema pieces shared by several nodes: the category, the pack's link types and common widgets.

Each widget that more than one node shows (threshold, feather, alpha / beta / iterations, the
synthesis steps, the content views, the seed) is defined here once, with the core's default and limits
(`nps_core.defaults`, the same ones `nps_core.options` checks), its range and its tooltip. The
functions return fresh `io.*.Input` objects, so a node may pass its own
tooltip where the meaning differs (e.g. what `iterations` counts).
"""

from __future__ import annotations

from comfy_api.latest import io

from ..nps_core import defaults
from ..nps_core.options import check_int

CATEGORY = "inpaint/NPS"

# Link types that only this pack's nodes produce and consume.
ContentNet = io.Custom("NPS_CONTENT_NET")   # a content network (torch.nn.Module, idle on the offload device)
Texture = io.Custom("NPS_TEXTURE")          # nps_core.texture.TextureSettings
Window = io.Custom("NPS_WINDOW")            # nodes.window_nodes.WindowHandle

MAX_SEED = 0xFFFFFFFFFFFFFFFF  # as ComfyUI's own seeds; reduced modulo 2**63 for torch (see seed_value)
ALPHA_TOOLTIP = (
    "Texture-loss weight relative to the content loss: higher = sharper, more copied texture; lower = closer "
    "to the content prediction. Features are normalised, so the paper's 5e-6 (raw VGG features) does not "
    "carry over; 0.02 is calibrated."
)
SYNTHESIS_TOOLTIP_OFF = "0 = off: the paper's plain optimisation"


def threshold_input(name: str = "threshold") -> io.Float.Input:
    return io.Float.Input(
        name, default=float(defaults.THRESHOLD), min=0.01, max=1.0, step=0.01,
        tooltip="Soft-mask cut-off: mask values at or above it count as hole.",
    )


def feather_input() -> io.Int.Input:
    return io.Int.Input(
        "feather", default=int(defaults.FEATHER), min=0, max=int(defaults.MAX_FEATHER),
        tooltip="Seam blending band outside the hole in pixels; 0 keeps every known pixel exact.",
    )


def loss_weight_inputs(iterations_tooltip: str) -> list:
    """`alpha`, `beta` and `iterations` widgets (the per-scale objective) with the core's defaults."""
    return [
        io.Float.Input("alpha", default=float(defaults.ALPHA), min=0.0, max=float(defaults.MAX_WEIGHT), step=0.0001,
                       tooltip=ALPHA_TOOLTIP),
        io.Float.Input("beta", default=float(defaults.BETA), min=0.0, max=float(defaults.MAX_WEIGHT), step=0.0001,
                       tooltip="Total-variation (smoothness) weight: higher = smoother fill."),
        io.Int.Input("iterations", default=int(defaults.ITERATIONS), min=1, max=int(defaults.MAX_ITERATIONS),
                     tooltip=iterations_tooltip),
    ]


def synthesis_steps_input(default: int, tooltip: str) -> io.Int.Input:
    """Optional `synthesis_steps` widget (optional so workflows saved before it existed still load)."""
    return io.Int.Input("synthesis_steps", default=int(default), min=0, max=int(defaults.MAX_SYNTHESIS_STEPS),
                        optional=True, tooltip=tooltip)


CONTENT_VIEWS_TOOLTIP = (
    "The content network sees the image in this many flipped / transposed views and their predictions, turned "
    f"back, are averaged (one of {', '.join(map(str, defaults.CONTENT_VIEW_COUNTS))}): each view's own guesses "
    "cancel out, so the hole's colours and shapes are more likely right. 1 = the network once, as in the paper."
)


def content_views_input(name: str = "content_views") -> io.Int.Input:
    """Optional content-network views widget (optional so workflows saved before it existed still load)."""
    return io.Int.Input(name, default=int(defaults.CONTENT_VIEWS), min=1, max=max(defaults.CONTENT_VIEW_COUNTS),
                        optional=True, tooltip=CONTENT_VIEWS_TOOLTIP)


def seed_value(seed) -> int:
    """The widget's value (checked: a whole number 0..MAX_SEED) as a torch seed (signed 64-bit)."""
    return check_int(seed, "seed", 0, MAX_SEED) % (2**63)


def seed_input() -> io.Int.Input:
    """The synthesis step's random patch search seed.

    control_after_generate is off on purpose: the node is deterministic for a given seed, so ComfyUI
    can reuse its cached result when nothing changed; an explicit False also stops the front end
    from adding its 'randomize' control by the input's name ("seed").
    """
    return io.Int.Input(
        "seed", default=0, min=0, max=MAX_SEED, control_after_generate=False,
        tooltip="Seed of the synthesis step's random patch search: another seed gives another, equally "
        "plausible fill; the same seed gives the same fill. (No effect when synthesis_steps is 0.)",
    )
