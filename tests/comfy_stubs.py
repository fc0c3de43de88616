"""Minimal stand-ins for the parts of ComfyUI the node pack uses, for tests without ComfyUI.

`install(models_dir)` puts fake `folder_paths`, `comfy`, `comfy.model_management`, `comfy.utils`
and `comfy_api.latest` (tests/comfy_api_stub.py: the V3 schema) modules into `sys.modules` (only
if the real ones are not already imported). `load_pack()` then imports the repository as a package
the way ComfyUI imports a custom node folder (so the pack's relative imports are exercised) and
returns it; `await pack.comfy_entrypoint()` gives the extension and its node classes.

The stand-ins record what the nodes do with them:
- `comfy.utils.ProgressBar.instances`: every bar created, each with `.updates`
  (list of `(value, total, preview)`) and `.node_id`;
- `comfy.model_management.request_interrupt(after_checks)`: makes
  `throw_exception_if_processing_interrupted` raise `InterruptProcessingException` on its
  `after_checks`-th call from now (ComfyUI's Cancel button); `.interrupt_checks` counts calls;
- `comfy.model_management.calls`: `("free_memory", bytes, device)` and `("soft_empty_cache",)`
  in call order; `set_devices(compute=, offload=, intermediate=)` picks what `get_torch_device`,
  `unet_offload_device` and `intermediate_device` return (all CPU by default).
"""

from __future__ import annotations

import importlib.util
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
    mm.devices = {"compute": torch.device("cpu"), "offload": torch.device("cpu"), "intermediate": torch.device("cpu")}
    mm.calls = []

    def set_devices(compute="cpu", offload="cpu", intermediate="cpu") -> None:
        mm.devices.update(compute=torch.device(compute), offload=torch.device(offload),
                          intermediate=torch.device(intermediate))

    def module_size(module) -> int:
        return sum(t.nelement() * t.element_size() for t in module.state_dict().values())

    def free_memory(memory_required, device, keep_loaded=()):
        mm.calls.append(("free_memory", memory_required, torch.device(device)))
        return []

    def soft_empty_cache(force=False):
        mm.calls.append(("soft_empty_cache",))

    def get_total_memory(dev=None, torch_total_too=False):
        return 64 << 30

    mm.set_devices = set_devices
    mm.module_size = module_size
    mm.free_memory = free_memory
    mm.soft_empty_cache = soft_empty_cache
    mm.get_total_memory = get_total_memory
    mm.OOM_EXCEPTION = torch.cuda.OutOfMemoryError
    mm.get_torch_device = lambda: mm.devices["compute"]
    mm.unet_offload_device = lambda: mm.devices["offload"]
    mm.intermediate_device = lambda: mm.devices["intermediate"]
    return mm


def _make_utils() -> types.ModuleType:
    utils = types.ModuleType("comfy.utils")

    class ProgressBar:
        """Records every `update_absolute(value, total, preview)`."""

        instances: list = []

        def __init__(self, total, node_id=None):
            self.node_id = node_id
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


PACK_NAME = "nps_pack"  # the package name the tests import the repository under


def install(models_dir: str | None = None) -> None:
    """Install the stand-ins (idempotent)."""
    import comfy_api_stub

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
    if "comfy_api.latest" not in sys.modules:
        sys.modules.update(comfy_api_stub.make_modules())


def load_pack(name: str = PACK_NAME):
    """Import the repository root as the package `name`, as ComfyUI loads a custom-node folder (idempotent)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO_ROOT, "__init__.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def node_classes(pack) -> dict:
    """{node_id: class} of every node the pack's V3 entry point registers (what ComfyUI does at start-up)."""
    import asyncio

    extension = asyncio.run(pack.comfy_entrypoint())
    return {cls.GET_SCHEMA().node_id: cls for cls in asyncio.run(extension.get_node_list())}
