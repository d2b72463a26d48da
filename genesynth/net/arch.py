"""A concrete architecture: every choice of a prototype fixed.

An :class:`Architecture` is the one currency between parsing, building, costing, evaluating
and reporting. It is frozen and hashable, round-trips through JSON and through prototype text
(:func:`genesynth.dsl.architecture_to_text` writes text that re-parses to an equal
architecture), and has a canonical hash under which two architectures that build the same
network are equal. Its layers and modules are the records of :mod:`genesynth.spec`; reading
one checks them against the layer registry (:mod:`genesynth.blocks`), which sits below.

Shapes are not stored: a layer holds only its own settings (``out``, ``kernel``, ...) and the
builder and the cost model pass the tensor shape along explicitly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from genesynth.blocks.modules import MODULE_KINDS as _KINDS
from genesynth.blocks.modules import trace
from genesynth.errors import ArchitectureError
from genesynth.limits import MAX_MODULES, MAX_NUMBER, load_json
from genesynth.spec import LayerSpec, ModuleSpec, Value

__all__ = [
    "FORMAT_VERSION", "MODULE_KINDS", "SHORTCUTS", "Architecture", "LayerSpec", "ModuleSpec",
    "Value",
]

MODULE_KINDS = tuple(_KINDS)  # seq, residual, split: genesynth.blocks.modules.MODULE_KINDS
SHORTCUTS = ("none", "identity", "project")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Architecture:
    """A network with every choice fixed: stem, body modules, head."""

    name: str
    input_shape: tuple[int, int, int]
    classes: int
    stem: tuple[LayerSpec, ...]
    modules: tuple[ModuleSpec, ...]
    head: tuple[LayerSpec, ...]
    _hash: str = field(default="", init=False, repr=False, compare=False)

    # -- identity ---------------------------------------------------------------------------

    def canonical(self) -> dict[str, Any]:
        """The structure that defines the built network: names, labels and no-op modules out."""
        body = [
            _module_to_dict(m, with_label=False) for m in self.modules if not m.is_empty
        ]
        return {
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            "stem": [_layer_to_dict(x) for x in self.stem],
            "modules": body,
            "head": [_layer_to_dict(x) for x in self.head],
        }

    @property
    def key(self) -> str:
        """Canonical hash (16 hex digits): equal for architectures that build the same network."""
        if not self._hash:
            text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
            object.__setattr__(self, "_hash", hashlib.sha256(text.encode()).hexdigest()[:16])
        return self._hash

    # -- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "name": self.name,
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            "stem": [_layer_to_dict(x) for x in self.stem],
            "modules": [_module_to_dict(m, with_label=True) for m in self.modules],
            "head": [_layer_to_dict(x) for x in self.head],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @staticmethod
    def from_dict(data: Mapping[str, Any], where: str = "architecture") -> Architecture:
        """The architecture ``data`` describes; raises ArchitectureError naming the key path
        when it is malformed, or when its layers are incomplete or do not fit together."""
        arch = _ArchReader(where).architecture(data)
        _check_layers(arch, where)
        return arch

    @staticmethod
    def from_json(text: str, where: str = "architecture") -> Architecture:
        return Architecture.from_dict(load_json(text, where, ArchitectureError), where)

    # -- other views ------------------------------------------------------------------------

    def iter_layers(self) -> Iterator[tuple[str, LayerSpec]]:
        """Every layer with a dotted path: ``stem.0``, ``m03.b0.2``, ``m03.post.0``, ``head.1``."""
        for i, layer in enumerate(self.stem):
            yield f"stem.{i}", layer
        for mi, module in enumerate(self.modules):
            for bi, branch in enumerate(module.branches):
                for li, layer in enumerate(branch):
                    yield f"m{mi + 1:02d}.b{bi}.{li}", layer
            for li, layer in enumerate(module.post):
                yield f"m{mi + 1:02d}.post.{li}", layer
        for i, layer in enumerate(self.head):
            yield f"head.{i}", layer


# -- JSON helpers -------------------------------------------------------------------------------


def _layer_to_dict(layer: LayerSpec) -> dict[str, Any]:
    return {"kind": layer.kind, **dict(layer.params)}


def _module_to_dict(module: ModuleSpec, with_label: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"label": module.label} if with_label else {}
    kind = _KINDS.get(module.kind)  # None for a kind that reading it refuses
    # canonical without the label: a residual without shortcut builds a sequence
    out["kind"] = module.kind if with_label or kind is None else kind.canonical(module)
    out["branches"] = [[_layer_to_dict(x) for x in branch] for branch in module.branches]
    written = _KINDS.get(out["kind"])
    if written is not None and written.takes_shortcut:
        out["shortcut"] = module.shortcut
    if module.post:
        out["post"] = [_layer_to_dict(x) for x in module.post]
    return out


def _size_ok(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_NUMBER


def _show(value: Any) -> str:
    """``repr`` for a message, cut short (a value may hold a 4000-digit integer)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**100 else "a long integer"
    return text if len(text) <= 80 else text[:77] + "..."


def _check_layers(arch: Architecture, where: str) -> None:
    """The layers are known kinds with valid settings, and their shapes fit together."""
    try:
        trace(arch)
    except ArchitectureError as exc:
        raise ArchitectureError(f"{where}: {exc}") from None


class _ArchReader:
    """Reads the JSON form with errors that name the key path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, path: str, message: str) -> ArchitectureError:
        return ArchitectureError(f"{self.where}: {path}: {message}")

    def field(self, data: Mapping[str, Any], key: str, kind: type, path: str) -> Any:
        if not isinstance(data, Mapping):
            raise self.fail(path, f"expected an object, got {type(data).__name__}")
        if key not in data:
            raise self.fail(path, f"missing key '{key}'")
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"{path}.{key}", f"expected {kind.__name__}, got {_show(value)}")
        return value

    def architecture(self, data: Mapping[str, Any]) -> Architecture:
        fmt = self.field(data, "format", int, "$")
        if fmt != FORMAT_VERSION:
            raise self.fail("$.format", f"expected {FORMAT_VERSION}, got {fmt}")
        shape = self.field(data, "input_shape", list, "$")
        if len(shape) != 3 or not all(_size_ok(v) for v in shape):
            raise self.fail("$.input_shape", f"expected 3 integers from 1 to {MAX_NUMBER}, "
                            f"got {_show(shape)}")
        classes = self.field(data, "classes", int, "$")
        if not _size_ok(classes):
            raise self.fail("$.classes", f"expected an integer from 1 to {MAX_NUMBER}, "
                            f"got {_show(classes)}")
        modules = self.field(data, "modules", list, "$")
        if len(modules) > MAX_MODULES:  # as a prototype is: 100,000 took 91 s and 1.27 GB
            raise self.fail("$.modules", f"{len(modules):,} modules; a network may have at "
                            f"most {MAX_MODULES:,}")
        return Architecture(
            name=self.field(data, "name", str, "$"),
            input_shape=(shape[0], shape[1], shape[2]),
            classes=classes,
            stem=self.layers(self.field(data, "stem", list, "$"), "$.stem"),
            modules=tuple(self.module(m, f"$.modules[{i}]") for i, m in enumerate(modules)),
            head=self.layers(self.field(data, "head", list, "$"), "$.head"),
        )

    def module(self, data: Mapping[str, Any], path: str) -> ModuleSpec:
        kind = self.field(data, "kind", str, path)
        if kind not in MODULE_KINDS:
            raise self.fail(f"{path}.kind", f"expected one of {MODULE_KINDS}, got {_show(kind)}")
        branches = self.field(data, "branches", list, path)
        shortcut = data.get("shortcut", "none")
        if shortcut not in SHORTCUTS:
            raise self.fail(f"{path}.shortcut",
                            f"expected one of {SHORTCUTS}, got {_show(shortcut)}")
        return ModuleSpec(
            label=self.field(data, "label", str, path),
            kind=kind,
            branches=tuple(
                self.layers(b, f"{path}.branches[{i}]") for i, b in enumerate(branches)
            ),
            shortcut=shortcut,
            post=self.layers(data.get("post", []), f"{path}.post"),
        )

    def layers(self, items: Any, path: str) -> tuple[LayerSpec, ...]:
        if not isinstance(items, list):
            raise self.fail(path, f"expected a list, got {_show(items)}")
        return tuple(self.layer(item, f"{path}[{i}]") for i, item in enumerate(items))

    def layer(self, data: Any, path: str) -> LayerSpec:
        kind = self.field(data, "kind", str, path)
        params = {k: v for k, v in data.items() if k != "kind"}
        for key, value in params.items():
            if not isinstance(value, int | float | bool | str):
                raise self.fail(
                    f"{path}.{key}", f"expected a number, boolean or name, got {_show(value)}"
                )
        return LayerSpec.of(kind, **params)
