"""Which ComfyUI the pack needs, checked before any node is defined.

The nodes use ComfyUI's V3 schema (`comfy_api.latest`). On an older ComfyUI the pack must fail to
load with one line that says what to install, not with a traceback from deep inside a node file.
"""

from __future__ import annotations

import importlib

MIN_COMFYUI = (0, 3, 64)  # the oldest release the pack is tested on (V3 schema, comfy_api.latest)
MIN_COMFYUI_TEXT = ".".join(str(part) for part in MIN_COMFYUI)


class ComfyUITooOldError(ImportError):
    """Raised at import time when the running ComfyUI cannot host the V3 nodes."""


def parse_version(text: str) -> tuple[int, ...]:
    """'0.3.64' -> (0, 3, 64); non-numeric tails ('0.3.64rc1', '0.4.0-dev') keep their leading digits."""
    parts = []
    for piece in str(text).split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def running_comfyui_version() -> str | None:
    """ComfyUI's own version string (`comfyui_version.__version__`), None when it cannot be read."""
    try:
        return str(importlib.import_module("comfyui_version").__version__)
    except Exception:  # noqa: BLE001 - any failure means "unknown", never a crash here
        return None


def check_comfyui() -> None:
    """Raise ComfyUITooOldError (one line) unless ComfyUI >= MIN_COMFYUI with `comfy_api.latest` runs."""
    version = running_comfyui_version()
    found = f"this ComfyUI is {version}" if version else "this ComfyUI has no version number"
    need = (f"nps-inpaint needs ComfyUI {MIN_COMFYUI_TEXT} or newer (V3 node schema, comfy_api.latest); "
            f"{found}: update ComfyUI (git pull, or the desktop/portable updater) and restart it.")
    if version is not None and parse_version(version) < MIN_COMFYUI:
        raise ComfyUITooOldError(need)
    try:
        importlib.import_module("comfy_api.latest")
    except ImportError as exc:
        if version is not None:  # new enough, yet the V3 API does not import: say why
            need = (f"nps-inpaint: ComfyUI {version}'s comfy_api.latest failed to import ({exc}); "
                    "repair that ComfyUI install.")
        raise ComfyUITooOldError(need) from None
