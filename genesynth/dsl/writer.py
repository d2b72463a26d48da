"""Architecture -> fixed prototype text that parses back to an equal architecture.

Every module is written inline (``module LABEL: KIND(shortcut=...) { ... } then { ... }``),
an empty skipped module as ``skip``, and every layer setting explicitly.
"""

from __future__ import annotations

from genesynth.blocks.modules import module_kind, skip_module
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec, Value


def architecture_to_text(arch: Architecture) -> str:
    c, h, w = arch.input_shape
    lines = [
        f"# {arch.name}: a fixed architecture written by genesynth (key {arch.key})",
        f"network {arch.name} {{",
        f"  input {c}x{h}x{w}",
        f"  classes {arch.classes}",
        f"  stem {{ {layers_text(arch.stem)} }}",
        "  modules {",
        *(f"    {module_text(m)}" for m in arch.modules),
        "  }",
        f"  head {{ {layers_text(arch.head)} }}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def module_text(module: ModuleSpec) -> str:
    if module == skip_module():
        return "skip"
    kind = module_kind(module)
    if kind.branches > 1:
        body = " ".join(f"branch {{ {layers_text(b)} }}" for b in module.branches)
    else:
        body = layers_text(module.branches[0])
    then = f" then {{ {layers_text(module.post)} }}" if module.post else ""
    return f"module {module.label}: {kind.header(module)} {{ {body} }}{then}"


def layers_text(layers: tuple[LayerSpec, ...]) -> str:
    return " ".join(_layer(layer) for layer in layers)


def _layer(layer: LayerSpec) -> str:
    if not layer.params:
        return layer.kind
    settings = ", ".join(f"{k}={_value(v)}" for k, v in layer.params)
    return f"{layer.kind}({settings})"


def _value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "inf" in text or "nan" in text:
            text = f"{value:.20f}".rstrip("0")
        return text
    return str(value)
