"""A stand-in for ComfyUI's `comfy_api.latest` (the V3 node schema), for tests without ComfyUI.

It offers the part of the API the pack uses, with the same names, constructor parameters and
attributes as ComfyUI 0.3.64 (`io.ComfyNode`, `io.Schema`, `io.Int/Float/String/Boolean/Combo/
Image/Mask.Input`, `io.Custom`, `io.Output`, `io.NodeOutput`, `io.Hidden`, `ComfyExtension`), so a
wrong keyword or a missing attribute fails here as it would in ComfyUI. `ComfyNode.INPUT_TYPES()`
gives the V1-style dict that ComfyUI's /object_info sends to the front end (pruned of None values),
which the workflow tests read.

Not a copy of ComfyUI's code: a small re-implementation of its documented behaviour.
"""

from __future__ import annotations

import enum
import types
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


def _pruned(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


class _IO:
    """Base of inputs and outputs; `Parent` is the type class that owns them."""

    Parent = None

    @property
    def io_type(self) -> str:
        return self.Parent.io_type


class Input(_IO):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 extra_dict=None):
        self.id = id
        self.display_name = display_name
        self.optional = optional
        self.tooltip = tooltip
        self.lazy = lazy
        self.extra_dict = extra_dict or {}

    def as_dict(self) -> dict:
        return _pruned({"display_name": self.display_name, "optional": self.optional, "tooltip": self.tooltip,
                        "lazy": self.lazy}) | _pruned(self.extra_dict)

    def get_io_type(self):
        return self.io_type


class WidgetInput(Input):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: Any = None, socketless: bool = None, widget_type: str = None, force_input: bool = None,
                 extra_dict=None):
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
        self.default = default
        self.socketless = socketless
        self.widget_type = widget_type
        self.force_input = force_input

    def as_dict(self) -> dict:
        return super().as_dict() | _pruned({"default": self.default, "socketless": self.socketless,
                                            "widgetType": self.widget_type, "forceInput": self.force_input})


class Output(_IO):
    def __init__(self, id: str = None, display_name: str = None, tooltip: str = None, is_output_list=False):
        self.id = id
        self.display_name = display_name
        self.tooltip = tooltip
        self.is_output_list = is_output_list


def _make_type(io_type: str, input_cls=Input, name: str | None = None):
    """A type class with nested Input/Output bound to it (what ComfyUI's @comfytype does)."""
    cls = types.new_class(name or f"Custom_{io_type}", (), {})
    cls.io_type = io_type
    cls.Input = type("Input", (input_cls,), {"Parent": cls})
    cls.Output = type("Output", (Output,), {"Parent": cls})
    return cls


class _IntInput(WidgetInput):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: int = None, min: int = None, max: int = None, step: int = None,
                 control_after_generate: bool = None, display_mode=None, socketless: bool = None,
                 force_input: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
        self.min, self.max, self.step = min, max, step
        self.control_after_generate = control_after_generate
        self.display_mode = display_mode

    def as_dict(self) -> dict:
        return super().as_dict() | _pruned({"min": self.min, "max": self.max, "step": self.step,
                                            "control_after_generate": self.control_after_generate})


class _FloatInput(WidgetInput):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: float = None, min: float = None, max: float = None, step: float = None,
                 round: float = None, display_mode=None, socketless: bool = None, force_input: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
        self.min, self.max, self.step, self.round = min, max, step, round
        self.display_mode = display_mode

    def as_dict(self) -> dict:
        return super().as_dict() | _pruned({"min": self.min, "max": self.max, "step": self.step, "round": self.round})


class _StringInput(WidgetInput):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 multiline=False, placeholder: str = None, default: str = None, dynamic_prompts: bool = None,
                 socketless: bool = None, force_input: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
        self.multiline, self.placeholder, self.dynamic_prompts = multiline, placeholder, dynamic_prompts

    def as_dict(self) -> dict:
        return super().as_dict() | _pruned({"multiline": self.multiline, "placeholder": self.placeholder})


class _BooleanInput(WidgetInput):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: bool = None, label_on: str = None, label_off: str = None, socketless: bool = None,
                 force_input: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
        self.label_on, self.label_off = label_on, label_off


class _ComboInput(WidgetInput):
    def __init__(self, id: str, options=None, display_name: str = None, optional=False, tooltip: str = None,
                 lazy: bool = None, default=None, control_after_generate: bool = None, upload=None,
                 image_folder=None, remote=None, socketless: bool = None):
        if isinstance(options, type) and issubclass(options, enum.Enum):
            options = [v.value for v in options]
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless)
        self.options = options
        self.control_after_generate = control_after_generate

    def as_dict(self) -> dict:
        return super().as_dict() | _pruned({"options": self.options,
                                            "control_after_generate": self.control_after_generate})



Int = _make_type("INT", _IntInput, "Int")
Float = _make_type("FLOAT", _FloatInput, "Float")
String = _make_type("STRING", _StringInput, "String")
Boolean = _make_type("BOOLEAN", _BooleanInput, "Boolean")
Combo = _make_type("COMBO", _ComboInput, "Combo")
Image = _make_type("IMAGE", name="Image")
Mask = _make_type("MASK", name="Mask")
AnyType = _make_type("*", name="AnyType")


def Custom(io_type: str):
    """A type for a custom link type (e.g. "NPS_TEXTURE")."""
    return _make_type(io_type)


class Hidden(str, enum.Enum):
    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"
    dynprompt = "DYNPROMPT"
    auth_token_comfy_org = "AUTH_TOKEN_COMFY_ORG"
    api_key_comfy_org = "API_KEY_COMFY_ORG"


class HiddenHolder:
    """Hidden values of one execution; absent ones read as None (as in ComfyUI)."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __getattr__(self, key):
        return None


@dataclass
class Schema:
    node_id: str
    display_name: str = None
    category: str = "sd"
    inputs: list = None
    outputs: list = None
    hidden: list = None
    description: str = ""
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_api_node: bool = False
    not_idempotent: bool = False
    enable_expand: bool = False

    def validate(self) -> None:
        input_ids = [i.id for i in self.inputs or []]
        output_ids = [o.id for o in self.outputs or [] if o.id is not None]
        problems = []
        if len(set(input_ids)) != len(input_ids):
            problems.append(f"Input ids must be unique: {input_ids}")
        if len(set(output_ids)) != len(output_ids):
            problems.append(f"Output ids must be unique: {output_ids}")
        if set(input_ids) & set(output_ids):
            problems.append(f"Ids must be unique between inputs and outputs: {set(input_ids) & set(output_ids)}")
        if problems:
            raise ValueError("\n".join(problems))

    def finalize(self) -> None:
        for index, output in enumerate(self.outputs or []):
            if output.id is None:
                output.id = f"_{index}_{output.io_type}_"


class NodeOutput:
    def __init__(self, *args: Any, ui=None, expand=None, block_execution: str = None):
        self.args = args
        self.ui = ui
        self.expand = expand
        self.block_execution = block_execution

    @property
    def result(self):
        return self.args if self.args else None

    def __getitem__(self, index):
        return self.args[index]


class ComfyNode:
    """Base of V3 nodes: classmethods `define_schema` and `execute`; `hidden` is set per execution."""

    hidden = None

    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs) -> NodeOutput:
        raise NotImplementedError

    @classmethod
    def GET_SCHEMA(cls) -> Schema:
        if cls.define_schema.__func__ is ComfyNode.define_schema.__func__:
            raise Exception(f"No define_schema function was defined for node class {cls.__name__}.")
        if cls.execute.__func__ is ComfyNode.execute.__func__:
            raise Exception(f"No execute function was defined for node class {cls.__name__}.")
        schema = cls.define_schema()
        schema.finalize()
        schema.validate()
        return schema

    @classmethod
    def INPUT_TYPES(cls) -> dict:
        """The V1-style input dict ComfyUI's /object_info sends for this node."""
        spec: dict = {"required": {}}
        for item in cls.GET_SCHEMA().inputs or []:
            options = item.as_dict()
            options.pop("optional", None)
            spec.setdefault("optional" if item.optional else "required", {})[item.id] = (item.get_io_type(), options)
        return spec


class ComfyExtension(ABC):
    async def on_load(self) -> None:  # noqa: B027 - optional hook, empty by default (as in ComfyUI)
        """Called when the extension is loaded."""

    @abstractmethod
    async def get_node_list(self) -> list:
        """The node classes of this extension."""


def make_modules() -> dict:
    """{module name: module} for `comfy_api`, `comfy_api.latest` and `comfy_api.latest.io`."""
    io = types.ModuleType("comfy_api.latest._io")
    for name in ("Input", "WidgetInput", "Output", "Int", "Float", "String", "Boolean", "Combo", "Image",
                 "Mask", "AnyType", "Custom", "Hidden", "HiddenHolder", "Schema", "NodeOutput", "ComfyNode"):
        setattr(io, name, globals()[name])
    latest = types.ModuleType("comfy_api.latest")
    latest.__path__ = []
    latest.io = io
    latest.ComfyExtension = ComfyExtension
    root = types.ModuleType("comfy_api")
    root.__path__ = []
    root.latest = latest
    return {"comfy_api": root, "comfy_api.latest": latest, "comfy_api.latest._io": io}
