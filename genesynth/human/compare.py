"""Two architectures side by side, module by module (AttoNets' Table 1, for two networks).

Each side is a family member (``RUN:B``), a trial of a run (``RUN#12``) or an architecture
JSON file. Parts are paired by position (stem, ``m01`` ..., head); for each pair the diff says
what differs — ``layers`` (which layer kinds, in order), ``widths``, ``groups``, ``kernels``,
``strides``, ``shortcut`` — and gives both sides' layers, parameters and MACs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genesynth.blocks.modules import SEQ, module_kind
from genesynth.errors import GenesynthError, RunError
from genesynth.limits import read_text
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec
from genesynth.record.trial import architectures

ASPECTS = ("layers", "widths", "groups", "kernels", "strides", "shortcut")
_SETTING = {"widths": "out", "groups": "groups", "kernels": "kernel", "strides": "stride"}


@dataclass(frozen=True)
class Side:
    """One part on one side: its summary and cost (None where that side has no such part)."""

    label: str
    layers: str
    out: str
    params: int
    macs: int


@dataclass(frozen=True)
class PartDiff:
    part: str
    a: Side | None
    b: Side | None
    differs: tuple[str, ...]


@dataclass(frozen=True)
class ArchDiff:
    a_name: str
    b_name: str
    a: Architecture
    b: Architecture
    parts: tuple[PartDiff, ...]

    def to_dict(self) -> dict[str, Any]:
        from genesynth.net.costs import cost

        ca, cb = cost(self.a), cost(self.b)
        return {
            "a": {"name": self.a_name, "key": self.a.key, "params": ca.params, "macs": ca.macs},
            "b": {"name": self.b_name, "key": self.b.key, "params": cb.params, "macs": cb.macs},
            "parts": [{"part": p.part, "a": asdict(p.a) if p.a else None,
                       "b": asdict(p.b) if p.b else None, "differs": list(p.differs)}
                      for p in self.parts],
        }


def diff(a: str | Architecture, b: str | Architecture) -> ArchDiff:
    """Compare two architectures, or two specs (``RUN:B``, ``RUN#12``, ``arch.json``)."""
    arch_a, name_a = (a, a.name) if isinstance(a, Architecture) else (load_side(a), a)
    arch_b, name_b = (b, b.name) if isinstance(b, Architecture) else (load_side(b), b)
    sides_a, sides_b = _sides(arch_a), _sides(arch_b)
    specs_a, specs_b = _specs(arch_a), _specs(arch_b)
    names = list(dict.fromkeys([*sides_a, *sides_b]))
    names.sort(key=lambda n: (n != "stem", n == "head", n))
    parts = tuple(
        PartDiff(n, sides_a.get(n), sides_b.get(n), _differs(specs_a.get(n), specs_b.get(n)))
        for n in names
    )
    return ArchDiff(str(name_a), str(name_b), arch_a, arch_b, parts)


def load_side(spec: str) -> Architecture:
    """``RUN:B`` (a family member), ``RUN#12`` (a trial) or an architecture JSON file."""
    path = Path(spec)
    if path.suffix == ".json" and path.is_file():
        try:
            return Architecture.from_json(read_text(path, "architecture"), spec)
        except OSError as exc:
            raise GenesynthError(f"cannot read {spec}: {exc.strerror}") from None
    if "#" in spec:
        run, number = spec.rsplit("#", 1)
        if not number.isdigit():
            raise GenesynthError(f"{spec!r}: expected RUN#N with a trial number N")
        return _trial(run, int(number))
    if ":" in spec:
        run, label = spec.rsplit(":", 1)
        return _member(run, label)
    raise GenesynthError(f"{spec!r}: expected RUN:MEMBER (e.g. runs/a:B), RUN#TRIAL "
                         "(e.g. runs/a#12) or an architecture .json file")


def _member(run: str, label: str) -> Architecture:
    from genesynth.record.family import verified_weights
    from genesynth.record.reader import locate
    from genesynth.record.run import inside

    source = locate(run)
    members = (source.family() or {}).get("members") or []  # checked on read
    for m in members:
        if m["label"] == label:
            if source.run_dir is None:
                raise RunError(f"{run}: member {label}'s files are not on this machine")
            path = inside(source.run_dir, m["arch"], f"member {label!r}'s arch")
            verified_weights(source.run_dir, m, label)  # the weights the run wrote
            return Architecture.from_json(read_text(path, "architecture", RunError), str(path))
    labels = ", ".join(str(m.get("label")) for m in members)
    have = f"its members are {labels}" if labels else "it has no family yet"
    raise RunError(f"{run}: no family member {label!r}; {have}")


def _trial(run: str, number: int) -> Architecture:
    from genesynth.record.reader import locate

    trials = locate(run).load_study().get_trials(deepcopy=False)
    archs = architectures(trials)
    if number in archs:
        return Architecture.from_json(archs[number], f"{run}#{number}")
    with_arch = sorted(archs)
    span = f"{with_arch[0]}-{with_arch[-1]}" if with_arch else "none"
    raise RunError(f"{run}: no trial {number} with an architecture (trials {span})")


def _sides(arch: Architecture) -> dict[str, Side]:
    from genesynth.blocks import trace_parts
    from genesynth.net.costs import breakdown
    from genesynth.net.summary import part_layers

    return {
        part.name: Side(part.label, part_layers(part.layers),
                        "x".join(str(v) for v in cost.out_shape), cost.params, cost.macs)
        for part, cost in zip(trace_parts(arch), breakdown(arch), strict=True)
    }


def _specs(arch: Architecture) -> dict[str, ModuleSpec]:
    parts = {f"m{i + 1:02d}": m for i, m in enumerate(arch.modules)}
    parts["stem"] = ModuleSpec("stem", SEQ, (arch.stem,))
    parts["head"] = ModuleSpec("head", SEQ, (arch.head,))
    return parts


def _differs(a: ModuleSpec | None, b: ModuleSpec | None) -> tuple[str, ...]:
    if a is None or b is None:
        present = a or b
        return ("layers",) if present is not None and not present.is_empty else ()
    found = []
    same_layers = [x.kind for x in a.layers] == [x.kind for x in b.layers] and a.kind == b.kind
    if not same_layers:
        found.append("layers")
    for aspect, setting in _SETTING.items():
        if _settings(a.layers, setting, same_layers) != _settings(b.layers, setting, same_layers):
            found.append(aspect)
    if module_kind(a).shortcut(a) != module_kind(b).shortcut(b):
        found.append("shortcut")
    return tuple(found)


def _settings(layers: tuple[LayerSpec, ...], name: str, by_layer: bool) -> Any:
    """A setting layer by layer when both sides have the same layers; otherwise what can be
    compared across different layers: the total stride, and the widths, kernel sizes and
    group counts used."""
    values = [layer.get(name) for layer in layers if layer.get(name) is not None]
    if by_layer:
        return values
    if name == "stride":
        return math.prod(int(v) for v in values if isinstance(v, int))
    return sorted({str(v) for v in values})
