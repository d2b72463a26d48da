"""Prototype text -> syntax tree (:mod:`genesynth.dsl.syntax`), with readable syntax errors.

The grammar lives in ``prototype.lark``. Parsing is pure: no registry, no shapes, no torch.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from genesynth.blocks.modules import SEQ
from genesynth.dsl import syntax as s
from genesynth.errors import PrototypeError, PrototypeSyntaxError, Span
from genesynth.limits import MAX_DEPTH, MAX_NUMBER, MAX_PROTOTYPE_BYTES, MAX_TEXT_DEPTH

_WORDS = {
    "NAME": "a name", "CALL": "a name", "INT": "an integer", "FLOAT": "a number",
    "SHAPE": "a shape such as 3x32x32", "$END": "the end of the file",
}


@cache
def _parser() -> lark.Lark:
    grammar = resources.files("genesynth.dsl").joinpath("prototype.lark").read_text()
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


@cache
def _readable() -> dict[str, str]:
    names = dict(_WORDS)
    for terminal in _parser().terminals:
        if isinstance(terminal.pattern, lark.lexer.PatternStr):
            names.setdefault(terminal.name, f"'{terminal.pattern.value}'")
    return names


def _expected(names: set[str] | frozenset[str]) -> str:
    words = sorted({_readable().get(n, n) for n in names})
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def parse(text: str, path: str = "<string>") -> s.File:
    """Parse prototype text; raises PrototypeSyntaxError at the first mistake."""
    _check_text(text, path)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(error, text, path) from None
    _check_depth(tree, text, path)
    try:
        items = _Builder(path, text).transform(tree)
    except VisitError as error:  # a mistake found while building (e.g. a repeated setting)
        if isinstance(error.orig_exc, PrototypeError):
            raise error.orig_exc from None
        raise
    networks = tuple(x for x in items.children if isinstance(x, s.Network))
    templates = tuple(x for x in items.children if isinstance(x, s.ModuleDef))
    return s.File(path, text, networks, templates)


#: Tree nodes that nest: a group in a group, an operator over an operator, a choice of slots,
#: a list in a list.
_NESTING = frozenset({"group", "binop", "neg", "slot_choice", "inline", "values"})


def _check_text(text: str, path: str) -> None:
    """Refuse, before parsing, a text longer than MAX_PROTOTYPE_BYTES or with more than
    MAX_TEXT_DEPTH brackets open at once (located at the first one too deep)."""
    if len(text) > MAX_PROTOTYPE_BYTES:
        raise PrototypeSyntaxError(
            f"the prototype has {len(text):,} characters; at most {MAX_PROTOTYPE_BYTES:,} are "
            "read (the largest shipped prototype has 14,196)", Span(path, 1, 1))
    depth = 0
    for at, char in enumerate(text):
        if char in "([{":
            depth += 1
            if depth > MAX_TEXT_DEPTH:
                line = text.count("\n", 0, at) + 1
                column = at - (text.rfind("\n", 0, at) + 1) + 1
                raise PrototypeSyntaxError(
                    f"nested too deeply: brackets nest at most {MAX_TEXT_DEPTH} deep",
                    Span(path, line, column))  # the line itself may be 100,000 brackets
        elif char in ")]}":
            depth = max(0, depth - 1)


def _check_depth(tree: lark.Tree[Token], text: str, path: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH (groups, arithmetic chains), located at the first
    node too deep, before any recursive walk of the tree."""
    stack: list[tuple[lark.Tree[Token], int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        depth += node.data in _NESTING
        if depth > MAX_DEPTH:
            meta = node.meta
            span = Span(path, getattr(meta, "line", 1), getattr(meta, "column", 1))
            raise PrototypeSyntaxError(
                f"nested too deeply: groups, lists and arithmetic nest at most {MAX_DEPTH} deep",
                span, text)
        stack.extend((c, depth) for c in node.children if isinstance(c, lark.Tree))


def _syntax_error(error: UnexpectedInput, text: str, path: str) -> PrototypeSyntaxError:
    line, column = max(error.line, 1), max(error.column, 1)
    if isinstance(error, UnexpectedToken):
        token = error.token
        found = "the end of the file" if token.type == "$END" else f"'{token}'"
        message = f"unexpected {found}; expected {_expected(error.accepts or error.expected)}"
        if token.type == "$END":
            line, column = _end(text)
    elif isinstance(error, UnexpectedCharacters):
        pos = error.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        message = f"unexpected character '{char}'"
        if error.allowed:
            message += f"; expected {_expected(error.allowed)}"
    elif isinstance(error, UnexpectedEOF):
        line, column = _end(text)
        message = f"unexpected end of the file; expected {_expected(set(error.expected))}"
    else:  # pragma: no cover - lark raises only the three above
        message = str(error)
    return PrototypeSyntaxError(message, Span(path, line, column), text)


def _end(text: str) -> tuple[int, int]:
    lines = text.rstrip().splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


def _args(children: list[Any]) -> tuple[s.Arg, ...]:
    return tuple(c for c in children if isinstance(c, s.Arg))


def _has(children: list[Any], kind: str) -> bool:
    return any(isinstance(c, Token) and c.type == kind for c in children)


def _tie(children: list[Any]) -> str | None:
    return next((c for c in children if isinstance(c, _Tie)), _Tie(None)).name


class _Tie:
    def __init__(self, name: str | None) -> None:
        self.name = name


@v_args(meta=True)
class _Builder(Transformer[Token, Any]):
    """Lark tree -> syntax tree; every node gets the span of its first token."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__()
        self.path = path
        self.text = text

    def span(self, meta: Any) -> Span:
        return Span(self.path, getattr(meta, "line", 1), getattr(meta, "column", 1))

    def at(self, token: Token) -> Span:
        return Span(self.path, token.line or 1, token.column or 1)

    # -- expressions ------------------------------------------------------------------------

    def number(self, token: Token, limit: int = MAX_NUMBER) -> int:
        """An integer literal, refused when larger than ``limit`` (before converting it)."""
        digits = str(token).lstrip("0")
        if len(digits) > len(str(limit)) or int(digits or "0") > limit:
            raise PrototypeError(f"number too large: at most {limit}, but got "
                                 f"{_short(str(token))}", self.at(token), self.text)
        return int(digits or "0")

    def int(self, meta: Any, c: list[Token]) -> s.Number:
        return s.Number(self.number(c[0]), self.at(c[0]))

    def float(self, meta: Any, c: list[Token]) -> s.Number:
        whole = str(c[0]).split(".")[0]
        self.number(Token("INT", whole, line=c[0].line, column=c[0].column))
        return s.Number(float(c[0]), self.at(c[0]))

    def word(self, meta: Any, c: list[Token]) -> s.Word:
        return s.Word(str(c[0]), self.at(c[0]))

    def neg(self, meta: Any, c: list[Any]) -> s.Neg:
        return s.Neg(c[1], self.at(c[0]))

    def binop(self, meta: Any, c: list[Any]) -> s.BinOp:
        return s.BinOp(str(c[1]), c[0], c[2], self.span(meta))

    def values(self, meta: Any, c: list[Any]) -> s.Values:
        options = tuple(x for x in c if x is not None and not isinstance(x, _Tie))
        return s.Values(options, _tie(c), self.span(meta))

    def range(self, meta: Any, c: list[Any]) -> s.Range:
        step = self.number(c[2]) if c[2] is not None else 1
        return s.Range(self.number(c[0]), self.number(c[1]), step, _tie(c), self.span(meta))

    def tie(self, meta: Any, c: list[Token]) -> _Tie:
        return _Tie(str(c[0]))

    def arg(self, meta: Any, c: list[Any]) -> s.Arg:
        return s.Arg(str(c[0]), c[1], self.at(c[0]))

    # -- layers -----------------------------------------------------------------------------

    def layer(self, meta: Any, c: list[Any]) -> s.Element:
        layer = s.Layer(str(c[0]), _args(c), self.at(c[0]))
        if _has(c, "QMARK"):
            return s.Group(((layer,), ()), None, layer.span)
        return layer

    def alternative(self, meta: Any, c: list[Any]) -> tuple[s.Element, ...]:
        return tuple(x for x in c if not isinstance(x, Token))

    def group(self, meta: Any, c: list[Any]) -> s.Group:
        options = [x for x in c if isinstance(x, tuple)]
        if _has(c, "QMARK"):
            options.append(())
        return s.Group(tuple(options), _tie(c), self.span(meta))

    # -- modules ----------------------------------------------------------------------------

    def param(self, meta: Any, c: list[Any]) -> s.Param:
        return s.Param(str(c[0]), c[1], self.at(c[0]))

    def kind(self, meta: Any, c: list[Any]) -> tuple[str, tuple[s.Arg, ...], Span]:
        return str(c[0]), _args(c), self.at(c[0])

    def body(self, meta: Any, c: list[Any]) -> tuple[str, tuple[Any, ...]]:
        if c and all(isinstance(x, _Branch) for x in c):
            return "branches", tuple(x.elements for x in c)
        return "body", tuple(c)

    def branch(self, meta: Any, c: list[Any]) -> _Branch:
        return _Branch(tuple(c))

    def then(self, meta: Any, c: list[Any]) -> _Then:
        return _Then(tuple(c))

    def template(self, meta: Any, c: list[Any]) -> s.ModuleDef:
        params = tuple(x for x in c if isinstance(x, s.Param))
        return self._module(meta, str(c[0]), params, c, inline=False)

    def inline(self, meta: Any, c: list[Any]) -> s.ModuleDef:
        return self._module(meta, str(c[0]), (), c, inline=True)

    def _module(
        self, meta: Any, name: str, params: tuple[s.Param, ...], c: list[Any], inline: bool
    ) -> s.ModuleDef:
        kind = next((x for x in c if isinstance(x, tuple) and len(x) == 3), None)
        kind_name, kind_args, kind_span = kind or (SEQ, (), self.span(meta))
        where, items = next(x for x in c if isinstance(x, tuple) and len(x) == 2)
        post = next((x.elements for x in c if isinstance(x, _Then)), ())
        return s.ModuleDef(
            name=name, params=params, kind=kind_name, kind_args=kind_args, kind_span=kind_span,
            body=items if where == "body" else (),
            branches=items if where == "branches" else (),
            post=post, span=self.span(meta), inline=inline,
        )

    # -- slots ------------------------------------------------------------------------------

    def call(self, meta: Any, c: list[Any]) -> s.Call:
        return s.Call(str(c[0]), _args(c), self.at(c[0]))

    def _slot(self, item: Any) -> Any:
        return s.Skip(self.at(item)) if isinstance(item, Token) else item

    def repeat(self, meta: Any, c: list[Any]) -> s.Repeat:
        return s.Repeat(self._slot(c[0]), self.number(c[1]), self.span(meta))

    def optional_slot(self, meta: Any, c: list[Any]) -> s.SlotChoice:
        slot = self._slot(c[0])
        return s.SlotChoice((slot, s.Skip(slot.span)), None, slot.span)

    def slot_choice(self, meta: Any, c: list[Any]) -> s.SlotChoice:
        # a trailing QMARK token becomes a final skip option, as SKIP tokens do; with a tie it is
        # the slot's own presence choice instead, so the tie covers the options alone
        tie = _tie(c)
        optional = tie is not None and any(
            isinstance(x, Token) and x.type == "QMARK" for x in c)
        options = tuple(self._slot(x) for x in c if x is not None and not isinstance(x, _Tie)
                        and not (optional and isinstance(x, Token) and x.type == "QMARK"))
        return s.SlotChoice(options, tie, self.span(meta), optional)

    # -- the network ------------------------------------------------------------------------

    def input(self, meta: Any, c: list[Token]) -> tuple[str, s.Setting]:
        token = c[0]
        shape = tuple(self.number(Token("INT", v, line=token.line, column=token.column))
                      for v in str(token).split("x"))
        return "input", s.Setting(shape, self.at(token))

    def classes(self, meta: Any, c: list[Token]) -> tuple[str, s.Setting]:
        return "classes", s.Setting((self.number(c[0]),), self.at(c[0]))

    def divisor(self, meta: Any, c: list[Token]) -> tuple[str, s.Setting]:
        return "divisor", s.Setting((self.number(c[0]),), self.at(c[0]))

    def stem(self, meta: Any, c: list[Any]) -> tuple[str, Any]:
        return "stem", (tuple(c), self.span(meta))

    def head(self, meta: Any, c: list[Any]) -> tuple[str, Any]:
        return "head", (tuple(c), self.span(meta))

    def modules(self, meta: Any, c: list[Any]) -> tuple[str, Any]:
        return "modules", (tuple(self._slot(x) for x in c), self.span(meta))

    def network(self, meta: Any, c: list[Any]) -> s.Network:
        seen: dict[str, Any] = {}
        for key, value in c[1:]:
            if key in seen:
                where = value.span if isinstance(value, s.Setting) else value[1]
                raise PrototypeError(f"'{key}' is given twice", where, self.text)
            seen[key] = value
        empty: tuple[tuple[Any, ...], Span] = ((), self.span(meta))
        return s.Network(
            name=str(c[0]), input=seen.get("input"), classes=seen.get("classes"),
            divisor=seen.get("divisor"), stem=seen.get("stem", empty)[0],
            slots=seen.get("modules", empty)[0], head=seen.get("head", empty)[0],
            head_span=seen.get("head", empty)[1], span=self.span(meta),
        )


def _short(digits: str) -> str:
    return digits if len(digits) <= 20 else f"{digits[:12]}... ({len(digits)} digits)"


class _Branch:
    def __init__(self, elements: tuple[s.Element, ...]) -> None:
        self.elements = elements


class _Then:
    def __init__(self, elements: tuple[s.Element, ...]) -> None:
        self.elements = elements
