"""``genesynth.refine``: a new prototype from a family member (or any trial) of a run.

The person keeps what the machine got right and re-opens the rest. Locked modules are written
as the member has them (inline, every setting fixed); opened modules get their space back from
the run's prototype (``run.json`` keeps its text), each slot on its own line so that slot
``m09`` is still ``m09`` and its choices keep their names (``synthesize --warm-start`` can then
replay the member in the new space). ``around`` narrows each opened value choice (a list or a
range) to the member's value and its neighbours; such a slot gets its own copy of the template
(``atto_m09``). Alternatives of layers or slots, and tied choices, stay as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesynth.dsl import syntax as s
from genesynth.dsl.resolve import literal_value
from genesynth.dsl.unparse import network_lines, slot_text, template_text
from genesynth.dsl.writer import layers_text, module_text
from genesynth.errors import GenesynthError, RunError
from genesynth.net.arch import Architecture, Value
from genesynth.record.trial import architectures
from genesynth.space.instantiate import item_path, option_prefix

if TYPE_CHECKING:
    from genesynth.space import Prototype


@dataclass(frozen=True)
class Refinement:
    """The refined prototype text and what it was made from."""

    text: str
    run: str
    trial: int
    member: str  # family label, or "" when refined from a trial
    key: str  # the source architecture's canonical key
    locked: tuple[str, ...]
    opened: tuple[str, ...]

    def prototype(self) -> Any:
        from genesynth.space import parse_prototype

        return parse_prototype(self.text, f"<refined from {self.run}>")


def refine(run: str | Path, member: str | None = None, trial: int | None = None,
           open: str | None = None, lock: str | None = None,  # noqa: A002 - the CLI's words
           around: bool = False) -> Refinement:
    """A prototype that keeps ``lock``\\ ed modules of ``member`` (or ``trial``) and re-opens
    the others (or opens ``open`` and keeps the others); ranges read ``m09-m16,m03``."""
    from genesynth.record.reader import locate
    from genesynth.space import FixedChooser, parse_prototype

    if (member is None) == (trial is None):
        raise GenesynthError("name one family member (--member B) or one trial (--trial N)")
    if (open is None) == (lock is None):
        raise GenesynthError("name the modules to open (--open m09-m16) or to lock "
                             "(--lock m01-m08), one of the two")
    source = locate(run)
    spec = source.run
    proto = parse_prototype(str(spec.get("prototype_text", "")),
                            str(spec.get("prototype_path") or "<run prototype>"),
                            _shape(spec.get("input_shape")), spec.get("classes"))
    study = source.load_study()
    number = _member_trial(source, member) if member is not None else int(trial or 0)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    archs = architectures(trials.values())
    if number not in archs:
        raise RunError(f"{run} has no trial {number} with an architecture; trials with one: "
                       f"{_spans(sorted(archs))}")
    arch = Architecture.from_json(archs[number])
    try:
        replayed, values = proto.sample_with_choices(chooser=FixedChooser(trials[number].params))
    except GenesynthError as exc:
        raise RunError(f"{run}: trial {number} does not replay in the run's prototype: {exc}"
                       ) from None
    if replayed.key != arch.key:
        raise RunError(f"{run}: trial {number} does not replay to the architecture it measured")
    names = [entry.prefix for entry in proto.model.slots]
    chosen = _modules(open if open is not None else str(lock), names)
    opened = chosen if open is not None else [n for n in names if n not in chosen]
    writer = _Writer(proto, arch, values if around else None)
    text = writer.text(opened, _header(run, member, number, arch, names, opened, around))
    locked = tuple(n for n in names if n not in opened)
    return Refinement(text, str(run), number, member or "", arch.key, locked, tuple(opened))


def _shape(value: Any) -> tuple[int, int, int] | None:
    if isinstance(value, list | tuple) and len(value) == 3:
        return int(value[0]), int(value[1]), int(value[2])
    return None


def _member_trial(source: Any, label: str) -> int:
    members = (source.family() or {}).get("members") or []
    labels = [str(m.get("label")) for m in members if isinstance(m, dict)]
    for m in members:
        if isinstance(m, dict) and str(m.get("label")) == label and isinstance(m.get("trial"),
                                                                              int):
            return int(m["trial"])
    have = f"its members are {', '.join(labels)}" if labels else "it has no family yet"
    raise RunError(f"{source.run_dir}: no family member {label!r}; {have}")


def _modules(text: str, names: list[str]) -> list[str]:
    """``m09-m16,m03`` -> the slot names, in network order (GenesynthError if absent)."""
    wanted: set[str] = set()
    where = f"the network has modules {names[0]}-{names[-1]}" if names else "it has no modules"
    for part in text.split(","):
        match = re.fullmatch(r"\s*m?(\d+)\s*(?:-\s*m?(\d+)\s*)?", part)
        if not match:
            raise GenesynthError(f"module range {part.strip()!r}: expected mNN or mNN-mNN "
                                 f"(e.g. m09-m16); {where}")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if not 1 <= low <= high <= len(names):
            raise GenesynthError(f"module range {part.strip()!r} does not exist: {where}")
        wanted.update(names[low - 1:high])
    return [n for n in names if n in wanted]


def _spans(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    return f"{numbers[0]}-{numbers[-1]}" if numbers == list(range(numbers[0], numbers[-1] + 1)
                                                            ) else ", ".join(map(str, numbers))


def _header(run: str | Path, member: str | None, trial: int, arch: Architecture,
            names: list[str], opened: list[str], around: bool) -> list[str]:
    who = f"member {member} (trial {trial})" if member else f"trial {trial}"
    locked = [n for n in names if n not in opened]
    how = ", narrowed to the member's value and its neighbours (--around)" if around else ""
    return [
        f"# Refined by genesynth from {run}, {who}, architecture {arch.key}.",
        f"# Locked as {who.split(' (')[0]} has them: {_ranges(locked, names) or 'none'}.",
        f"# Opened with the run's prototype space{how}: {_ranges(opened, names) or 'none'}.",
    ]


def _ranges(chosen: list[str], names: list[str]) -> str:
    """``m01-m08, m11``."""
    runs: list[list[str]] = []
    for name in chosen:
        if runs and names.index(name) == names.index(runs[-1][-1]) + 1:
            runs[-1].append(name)
        else:
            runs.append([name])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


class _Writer:
    """Writes the refined text; with ``values`` (the member's choices) narrows opened slots."""

    def __init__(self, proto: Prototype, arch: Architecture, values: dict[str, Value] | None
                 ) -> None:
        self.proto = proto
        self.arch = arch
        self.values = values
        self.templates = dict(proto.model.templates)
        self.copies: dict[str, s.ModuleDef] = {}  # new template name -> narrowed copy

    def text(self, opened: list[str], header: list[str]) -> str:
        model, arch = self.proto.model, self.arch
        slots, names = [], []
        for index, entry in enumerate(model.slots):
            if entry.prefix in opened:
                slot = self._open(entry.slot, entry.prefix)
                names += _called(slot)
                slots.append(f"{slot_text(slot)}  # {entry.prefix} opened")
            else:
                slots.append(f"{module_text(arch.modules[index])}  # {entry.prefix} locked")
        c, h, w = arch.input_shape
        settings = f"  input {c}x{h}x{w}\n  classes {arch.classes}\n  divisor {model.divisor}"
        lines = network_lines(model.network, f"{model.network.name}_refined", settings, slots)
        if self._has_choices("stem"):
            lines[2] = f"  stem {{ {layers_text(arch.stem)} }}"
        if self._has_choices("head"):
            lines[-2] = f"  head {{ {layers_text(arch.head)} }}"
        used = [template_text(self.templates[n]) for n in self.templates if n in names]
        used += [template_text(mdef) for n, mdef in self.copies.items() if n in names]
        return "\n".join([*header, *lines, *used]) + "\n"

    def _has_choices(self, part: str) -> bool:
        return any(c.name == part or c.name.startswith(f"{part}.") for c in self.proto.choices())

    # -- narrowing (--around) -------------------------------------------------------------------

    def _open(self, slot: Any, prefix: str) -> Any:
        if self.values is None or isinstance(slot, s.Skip):
            return slot
        if isinstance(slot, s.SlotChoice):
            return replace(slot, options=tuple(
                self._open(o, option_prefix(slot, prefix, k)) for k, o in enumerate(slot.options)
            ))
        mdef = self.templates[slot.template] if isinstance(slot, s.Call) else slot
        params = tuple(replace(p, default=self._expr(p.default, f"{prefix}.{p.name}"))
                       if p.default is not None else p for p in mdef.params)
        narrowed = replace(
            mdef, params=params,
            kind_args=self._args(mdef.kind_args, prefix),
            body=self._elements(mdef.body, prefix),
            branches=tuple(self._elements(b, f"{prefix}.b{i}")
                           for i, b in enumerate(mdef.branches)),
            post=self._elements(mdef.post, f"{prefix}.post"),
        )
        if not isinstance(slot, s.Call):
            return narrowed
        args = self._args(slot.args, prefix)
        if narrowed == mdef:
            return replace(slot, args=args)
        name = f"{slot.template}_{prefix.replace('.', '_')}"
        self.copies[name] = replace(narrowed, name=name)
        return replace(slot, template=name, args=args)

    def _args(self, args: tuple[s.Arg, ...], path: str) -> tuple[s.Arg, ...]:
        return tuple(replace(a, value=self._expr(a.value, f"{path}.{a.name}")) for a in args)

    def _elements(self, elements: tuple[s.Element, ...], path: str) -> tuple[s.Element, ...]:
        return tuple(self._element(e, f"{path}.{i}") for i, e in enumerate(elements))

    def _element(self, element: s.Element, path: str) -> s.Element:
        if isinstance(element, s.Layer):
            return replace(element, args=self._args(element.args, path))
        return replace(element, options=tuple(
            tuple(self._element(item, item_path(path, element, k, j))
                  for j, item in enumerate(option))
            for k, option in enumerate(element.options)
        ))

    def _expr(self, expr: Any, name: str) -> Any:
        count = 0

        def walk(e: Any) -> Any:
            nonlocal count
            if isinstance(e, s.BinOp):
                return replace(e, left=walk(e.left), right=walk(e.right))
            if isinstance(e, s.Neg):
                return replace(e, operand=walk(e.operand))
            if isinstance(e, s.Values | s.Range):
                label = name if count == 0 else f"{name}.{count}"
                count += 1
                return e if e.tie else _narrow(e, (self.values or {}).get(label))
            return e

        return walk(expr)


def _narrow(domain: s.Values | s.Range, value: Value | None) -> s.Values | s.Range:
    """The member's value and its neighbours (the domain as it is when the value is unknown)."""
    if value is None:
        return domain
    if isinstance(domain, s.Range):
        if isinstance(value, bool) or not isinstance(value, int):
            return domain
        return replace(domain, low=max(domain.low, value - domain.step),
                       high=min(domain.high, value + domain.step))
    values = [literal_value(o) for o in domain.options]
    for i, option in enumerate(values):
        if option == value and type(option) is type(value):
            return replace(domain, options=domain.options[max(0, i - 1):i + 2])
    return domain


def _called(slot: Any) -> list[str]:
    if isinstance(slot, s.Call):
        return [slot.template]
    if isinstance(slot, s.SlotChoice):
        return [name for option in slot.options for name in _called(option)]
    return []
