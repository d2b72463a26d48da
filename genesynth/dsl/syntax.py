"""The typed syntax tree of a prototype file: frozen dataclasses, each with its :class:`Span`.

The parser builds it; the resolver checks it; the instantiator (:mod:`genesynth.space`) walks
it. Optional forms are normalised by the parser: ``x?`` is a :class:`Group` with a trailing
empty option, and a slot ``A?`` is a :class:`SlotChoice` of ``A`` and ``skip``.
"""

from __future__ import annotations

from dataclasses import dataclass

from genesynth.errors import Span

# -- values and expressions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: int | float
    span: Span


@dataclass(frozen=True)
class Word:
    """A bare word: a parameter, ``in``, ``classes``, ``true``/``false`` or a name."""

    name: str
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str  # + - * /
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class Neg:
    operand: Expr
    span: Span


@dataclass(frozen=True)
class Values:
    """``[a, b, c]`` (optionally ``as TIE``): a choice among literal values."""

    options: tuple[Expr, ...]
    tie: str | None
    span: Span


@dataclass(frozen=True)
class Range:
    """``low..high step s`` (optionally ``as TIE``): an integer choice, both ends included."""

    low: int
    high: int
    step: int
    tie: str | None
    span: Span


Expr = Number | Word | BinOp | Neg | Values | Range
Domain = Values | Range


@dataclass(frozen=True)
class Arg:
    name: str
    value: Expr
    span: Span


# -- layers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    kind: str
    args: tuple[Arg, ...]
    span: Span


@dataclass(frozen=True)
class Group:
    """Alternatives (an empty option is ``skip``); ``tie`` names a choice made once."""

    options: tuple[tuple[Element, ...], ...]
    tie: str | None
    span: Span


Element = Layer | Group


# -- modules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    default: Expr | None
    span: Span


@dataclass(frozen=True)
class ModuleDef:
    """A template (``module NAME(PARAMS): KIND(ARGS) {...} then {...}``) or an inline slot.

    ``branches`` holds ``branch { }`` blocks (split); ``body`` the plain layers otherwise.
    """

    name: str
    params: tuple[Param, ...]
    kind: str
    kind_args: tuple[Arg, ...]
    kind_span: Span
    body: tuple[Element, ...]
    branches: tuple[tuple[Element, ...], ...]
    post: tuple[Element, ...]
    span: Span
    inline: bool = False


@dataclass(frozen=True)
class Call:
    template: str
    args: tuple[Arg, ...]
    span: Span


@dataclass(frozen=True)
class Skip:
    span: Span


@dataclass(frozen=True)
class SlotChoice:
    """``(A | B | skip)``; ``A?`` is ``(A | skip)``. ``(A | B)? as T`` is ``optional``: the tie
    picks among A and B once for the network, and each slot chooses for itself whether it is
    there (MnasNet's layers per block, with one operation per block)."""

    options: tuple[Call | Skip | ModuleDef, ...]
    tie: str | None
    span: Span
    optional: bool = False


@dataclass(frozen=True)
class Repeat:
    slot: Call | Skip | SlotChoice
    count: int
    span: Span


Slot = Call | Skip | SlotChoice | ModuleDef | Repeat


# -- the file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """``input``, ``classes`` or ``divisor`` with its value."""

    value: tuple[int, ...]
    span: Span


@dataclass(frozen=True)
class Network:
    name: str
    input: Setting | None
    classes: Setting | None
    divisor: Setting | None
    stem: tuple[Element, ...]
    slots: tuple[Slot, ...]
    head: tuple[Element, ...]
    head_span: Span
    span: Span


@dataclass(frozen=True)
class File:
    path: str
    text: str
    networks: tuple[Network, ...]
    templates: tuple[ModuleDef, ...]
