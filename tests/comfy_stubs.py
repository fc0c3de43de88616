"""Minimal stand-ins for the parts of ComfyUI the node pack uses, for tests without ComfyUI.

`install(models_dir)` puts fake `folder_paths`, `comfy`, `comfy.model_management` and
`comfy.utils` modules into `sys.modules` (only if the real ones are not already imported) and
puts the repository root on `sys.path`, so `import nodes` loads the pack's node classes.

The stand-ins record what the nodes do with them:
- `comfy.utils.ProgressBar.instances`: every bar created, each with `.updates`
  (list of `(value, total, preview)`);
- `comfy.model_management.request_interrupt(after_checks)`: makes
  `throw_exception_if_processing_interrupted` raise `InterruptProcessingException` on its
  `after_checks`-th call from now (ComfyUI's Cancel button); `.interrupt_checks` counts calls.
"""

from __future__ import annotations

import os
import sys
import types

import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _make_folder_paths(models_dir: str) -> types.ModuleType:
    fp = types.ModuleType("folder_paths")
    fp.__file__ = "<comfy_stubs folder_paths>"
    fp.models_dir = models_dir
    fp.folder_names_and_paths = {}

    def add_model_folder_path(folder_name, full_folder_path, is_default=False):
        if folder_name in fp.folder_names_and_paths:
            paths, _ext = fp.folder_names_and_paths[folder_name]
            if full_folder_path not in paths:
                if is_default:
                    paths.insert(0, full_folder_path)
                else:
                    paths.append(full_folder_path)
        else:
            fp.folder_names_and_paths[folder_name] = ([full_folder_path], set())

    def get_folder_paths(folder_name):
        return fp.folder_names_and_paths[folder_name][0][:]

    def get_filename_list(folder_name):
        paths, extensions = fp.folder_names_and_paths[folder_name]
        names = set()
        for folder in paths:
            if not os.path.isdir(folder):
                continue
            for root, _dirs, files in os.walk(folder):
                for file in files:
                    if not extensions or os.path.splitext(file)[1].lower() in extensions:
                        names.add(os.path.relpath(os.path.join(root, file), folder))
        return sorted(names)

    def get_full_path(folder_name, filename):
        if folder_name not in fp.folder_names_and_paths:
            return None
        for folder in fp.folder_names_and_paths[folder_name][0]:
            path = os.path.join(folder, filename)
            if os.path.isfile(path):
                return path
        return None

    def get_full_path_or_raise(folder_name, filename):
        path = get_full_path(folder_name, filename)
        if path is None:
            raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")
        return path

    fp.add_model_folder_path = add_model_folder_path
    fp.get_folder_paths = get_folder_paths
    fp.get_filename_list = get_filename_list
    fp.get_full_path = get_full_path
    fp.get_full_path_or_raise = get_full_path_or_raise
    return fp


def _make_model_management() -> types.ModuleType:
    mm = types.ModuleType("comfy.model_management")

    class InterruptProcessingException(Exception):
        """Raised when the user presses Cancel (stand-in)."""

    mm.InterruptProcessingException = InterruptProcessingException
    mm.interrupt_checks = 0
    mm._interrupt_at = None

    def request_interrupt(after_checks: int = 1) -> None:
        mm._interrupt_at = mm.interrupt_checks + int(after_checks)

    def clear_interrupt() -> None:
        mm._interrupt_at = None

    def throw_exception_if_processing_interrupted():
        mm.interrupt_checks += 1
        if mm._interrupt_at is not None and mm.interrupt_checks >= mm._interrupt_at:
            mm._interrupt_at = None
            raise InterruptProcessingException()

    mm.request_interrupt = request_interrupt
    mm.clear_interrupt = clear_interrupt
    mm.throw_exception_if_processing_interrupted = throw_exception_if_processing_interrupted
    mm.get_torch_device = lambda: torch.device("cpu")
    mm.intermediate_device = lambda: torch.device("cpu")
    return mm


def _make_utils() -> types.ModuleType:
    utils = types.ModuleType("comfy.utils")

    class ProgressBar:
        """Records every `update_absolute(value, total, preview)`."""

        instances: list = []

        def __init__(self, total, node_id=None):
            self.total = total
            self.current = 0
            self.updates = []
            ProgressBar.instances.append(self)

        def update_absolute(self, value, total=None, preview=None):
            if total is not None:
                self.total = total
            value = min(value, self.total)
            self.current = value
            self.updates.append((value, self.total, preview))

        def update(self, value):
            self.update_absolute(self.current + value)

    utils.ProgressBar = ProgressBar
    return utils


def install(models_dir: str | None = None) -> None:
    """Install the stand-ins (idempotent) and make the pack importable as `nodes` / `nps_core`."""
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    if "folder_paths" not in sys.modules:
        models_dir = models_dir or os.path.join(REPO_ROOT, ".pytest_cache", "comfy_models")
        sys.modules["folder_paths"] = _make_folder_paths(models_dir)
    if "comfy" not in sys.modules:
        comfy = types.ModuleType("comfy")
        comfy.__path__ = []
        mm = _make_model_management()
        utils = _make_utils()
        comfy.model_management = mm
        comfy.utils = utils
        sys.modules["comfy"] = comfy
        sys.modules["comfy.model_management"] = mm
        sys.modules["comfy.utils"] = utils
