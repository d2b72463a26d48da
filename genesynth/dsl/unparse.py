"""Syntax tree -> prototype text: the inverse of the parser, for tools that rewrite a space.

The text re-parses to an equal tree (up to positions and comments): every form is written
out in full (``x?`` as ``(x | skip)``, which the parser makes the same group), expressions
with the parentheses their precedence needs. :mod:`genesynth.human.refine` writes its prototypes
with it.
"""

from __future__ import annotations

from genesynth.dsl import syntax as s

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def expr_text(expr: s.Expr) -> str:
    """``in * [0.25, 0.5]``, ``16..64 step 8 as w``, ``(out + 8) / 2``."""
    if isinstance(expr, s.Number):
        return repr(expr.value) if isinstance(expr.value, float) else str(expr.value)
    if isinstance(expr, s.Word):
        return expr.name
    if isinstance(expr, s.Neg):
        inner = expr_text(expr.operand)
        return f"-({inner})" if isinstance(expr.operand, s.BinOp) else f"-{inner}"
    if isinstance(expr, s.Values):
        return f"[{', '.join(expr_text(o) for o in expr.options)}]{_tie(expr.tie)}"
    if isinstance(expr, s.Range):
        step = f" step {expr.step}" if expr.step != 1 else ""
        return f"{expr.low}..{expr.high}{step}{_tie(expr.tie)}"
    level = _PRECEDENCE[expr.op]
    left, right = expr_text(expr.left), expr_text(expr.right)
    if isinstance(expr.left, s.BinOp) and _PRECEDENCE[expr.left.op] < level:
        left = f"({left})"
    if isinstance(expr.right, s.BinOp) and _PRECEDENCE[expr.right.op] <= level:
        right = f"({right})"
    return f"{left} {expr.op} {right}"


def _tie(tie: str | None) -> str:
    return f" as {tie}" if tie else ""


def args_text(args: tuple[s.Arg, ...]) -> str:
    return ", ".join(f"{a.name}={expr_text(a.value)}" for a in args)


def elements_text(elements: tuple[s.Element, ...]) -> str:
    """Layers and groups separated by spaces: ``conv(kernel=[3, 5]) bn (relu | skip)``."""
    return " ".join(_element(e) for e in elements)


def _element(element: s.Element) -> str:
    if isinstance(element, s.Layer):
        return f"{element.kind}({args_text(element.args)})" if element.args else element.kind
    options = " | ".join(elements_text(o) if o else "skip" for o in element.options)
    return f"({options}){_tie(element.tie)}"


def template_text(mdef: s.ModuleDef, name: str | None = None) -> str:
    """``module NAME(PARAMS): KIND(ARGS) { BODY } then { POST }``; inline without params."""
    head = f"module {name or mdef.name}"
    if not mdef.inline:
        params = ", ".join(
            p.name if p.default is None else f"{p.name}={expr_text(p.default)}"
            for p in mdef.params
        )
        head += f"({params})"
    kind = f"{mdef.kind}({args_text(mdef.kind_args)})" if mdef.kind_args else mdef.kind
    if mdef.branches:
        body = " ".join(f"branch {{ {elements_text(b)} }}" for b in mdef.branches)
    else:
        body = elements_text(mdef.body)
    then = f" then {{ {elements_text(mdef.post)} }}" if mdef.post else ""
    return f"{head}: {kind} {{ {body} }}{then}"


def slot_text(slot: s.Slot) -> str:
    """One slot as written in ``modules { }``."""
    if isinstance(slot, s.Skip):
        return "skip"
    if isinstance(slot, s.Call):
        return f"{slot.template}({args_text(slot.args)})" if slot.args else slot.template
    if isinstance(slot, s.ModuleDef):
        return template_text(slot)
    if isinstance(slot, s.Repeat):
        return f"{slot_text(slot.slot)} * {slot.count}"
    options = " | ".join(slot_text(o) for o in slot.options)
    return f"({options}){'?' if slot.optional else ''}{_tie(slot.tie)}"


def network_lines(network: s.Network, name: str | None = None, settings: str = "",
                  slots: list[str] | None = None) -> list[str]:
    """``network NAME { ... }`` as lines; ``settings`` replaces input/classes/divisor and
    ``slots`` the written slots (one line each) when given."""
    if not settings:
        parts = [(k, getattr(network, k)) for k in ("input", "classes", "divisor")]
        settings = "\n".join(
            f"  {k} {'x'.join(str(v) for v in value.value)}" for k, value in parts if value
        )
    written = slots if slots is not None else [slot_text(x) for x in network.slots]
    return [
        f"network {name or network.name} {{", settings,
        f"  stem {{ {elements_text(network.stem)} }}",
        "  modules {", *(f"    {line}" for line in written), "  }",
        f"  head {{ {elements_text(network.head)} }}", "}",
    ]


def file_text(file: s.File) -> str:
    """A whole parsed file: its network, then its templates."""
    lines = [line for n in file.networks for line in network_lines(n)]
    lines += [template_text(t) for t in file.templates]
    return "\n".join(lines) + "\n"
