"""Validation of settings (numbers, counts, devices) shared by the Python API, the CLI and the nodes.

Every check returns the value in its canonical type (`float`, `int`, `torch.device`) or raises
`NPSOptionError` naming the setting, the value given and the accepted range. Nothing is clamped or
rounded silently: `feather=2.5` is an error, `feather=2.0` is accepted as 2. Booleans and strings are
not numbers. The documented limits live in `nps_core.defaults` (MAX_ITERATIONS, MAX_WEIGHT, ...).
"""

from __future__ import annotations

import math
import numbers

import torch

from . import defaults
from .errors import NPSOptionError


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_float(value, name: str, minimum: float | None = None, maximum: float | None = None,
                above: float | None = None) -> float:
    """A finite real number in [minimum, maximum] (and > `above` when given) -> float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise NPSOptionError(f"{name} must be a number, got {_shown(value)} ({type(value).__name__}).")
    x = float(value)
    if not math.isfinite(x):
        raise NPSOptionError(f"{name} must be a finite number, got {x}.")
    if above is not None and not x > above:
        raise NPSOptionError(f"{name} must be greater than {above:g}, got {x:g}.")
    if (minimum is not None and x < minimum) or (maximum is not None and x > maximum):
        raise NPSOptionError(f"{name} must be in {_range(minimum, maximum)}, got {x:g}.")
    return x


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number (int, numpy integer, or a float with no fraction such as 2.0) in range -> int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise NPSOptionError(f"{name} must be a whole number, got {_shown(value)} ({type(value).__name__}).")
    if not isinstance(value, numbers.Integral):
        x = float(value)
        if not math.isfinite(x) or x != math.floor(x):
            raise NPSOptionError(f"{name} must be a whole number, got {x:g}.")
    n = int(value)
    if (minimum is not None and n < minimum) or (maximum is not None and n > maximum):
        raise NPSOptionError(f"{name} must be in {_range(minimum, maximum)}, got {n}.")
    return n


def _range(minimum, maximum) -> str:
    lo = "-inf" if minimum is None else f"{minimum:g}"
    hi = "inf" if maximum is None else f"{maximum:g}"
    return f"{lo}..{hi}"


def check_weight(value, name: str) -> float:
    """A loss weight (alpha, beta): finite, 0..defaults.MAX_WEIGHT."""
    return check_float(value, name, 0.0, defaults.MAX_WEIGHT)


def check_iterations(value, name: str = "iterations") -> int:
    """L-BFGS iterations per level: 0..defaults.MAX_ITERATIONS (0 = content fill / synthesis only)."""
    return check_int(value, name, 0, defaults.MAX_ITERATIONS)


def check_threshold(value, name: str = "threshold") -> float:
    """Soft-mask cut-off: 0 < threshold <= 1."""
    x = check_float(value, name, maximum=1.0, above=0.0)
    return x


def check_feather(value, name: str = "feather") -> int:
    """Seam feather radius in whole pixels: 0..defaults.MAX_FEATHER."""
    return check_int(value, name, 0, defaults.MAX_FEATHER)


def check_device(device, name: str = "device") -> torch.device | None:
    """None (the caller's default), a torch.device, 'cpu' / 'cuda' / 'cuda:N' / 'mps' / ... -> a
    torch.device that exists on this machine; an unknown name or an absent device is an error."""
    if device is None:
        return None
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device.strip())
        except (RuntimeError, ValueError):
            raise NPSOptionError(
                f"{name} {device!r} is not a device name; use cpu, cuda, cuda:N or mps."
            ) from None
    else:
        raise NPSOptionError(f"{name} must be a device name such as 'cpu' or 'cuda', got {_shown(device)}.")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise NPSOptionError(
                f"{name} {str(dev)!r}: CUDA is not available here (torch {torch.__version__}); use cpu."
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise NPSOptionError(
                f"{name} {str(dev)!r} does not exist: this machine has {count} CUDA device(s) "
                f"(cuda:0..cuda:{count - 1})."
            )
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise NPSOptionError(f"{name} 'mps' is not available here; use cpu.")
    elif dev.type == "meta":
        raise NPSOptionError(f"{name} 'meta' holds no data; use cpu or a GPU.")
    elif dev.type != "cpu":
        try:
            torch.empty(1, device=dev)
        except Exception:
            raise NPSOptionError(f"{name} {str(dev)!r} is not usable here; use cpu.") from None
    return dev


def check_content_views(views, name: str = "content_views") -> int:
    """How many flipped / transposed views the content network sees, averaged: one of
    defaults.CONTENT_VIEW_COUNTS (1 = the network once, as in the paper)."""
    if isinstance(views, bool) or not isinstance(views, int) or views not in defaults.CONTENT_VIEW_COUNTS:
        counts = ", ".join(map(str, defaults.CONTENT_VIEW_COUNTS))
        raise NPSOptionError(f"{name} must be one of {counts} (1 = the content network once, as in the paper), "
                             f"got {views!r}.")
    return views


def check_inpaint_options(alpha, beta, iterations, threshold, feather, window_scale, min_window,
                          content_sigma, device, content_views=defaults.CONTENT_VIEWS) -> dict:
    """Validate `nps_core.inpaint`'s settings at once -> dict of canonical values (same keys).

    alpha, beta: 0..MAX_WEIGHT; iterations: 0..MAX_ITERATIONS; threshold: (0, 1]; feather:
    0..MAX_FEATHER whole pixels; window_scale: 1..MAX_WINDOW_SCALE; min_window: COARSEST..MAX_WINDOW
    px (the coarsest pyramid level is the content network's 128 px);
    content_sigma: 0..MAX_CONTENT_SIGMA px; device: see check_device; content_views: see
    check_content_views.
    """
    return {
        "alpha": check_weight(alpha, "alpha"),
        "beta": check_weight(beta, "beta"),
        "iterations": check_iterations(iterations),
        "threshold": check_threshold(threshold),
        "feather": check_feather(feather),
        "window_scale": check_float(window_scale, "window_scale", 1.0, defaults.MAX_WINDOW_SCALE),
        "min_window": check_int(min_window, "min_window", defaults.COARSEST, defaults.MAX_WINDOW),
        "content_sigma": check_float(content_sigma, "content_sigma", 0.0, defaults.MAX_CONTENT_SIGMA),
        "device": check_device(device),
        "content_views": check_content_views(content_views),
    }
