from __future__ import annotations

from genesynth.dsl import syntax as s
from genesynth.dsl.parser import parse
from genesynth.errors import Span

TEXT = """network n {
  input 3x8x8
  classes 4
  stem { conv(out=in * [0.5, 1.0], kernel=3..7 step 2 as k)? (bn | skip) as t }
  modules {
    b(out=8) * 2
    (b(out=16) | skip)
    b?
    module inline: residual(shortcut=identity) { relu } then { bn }
  }
  head { gap linear(out=classes) }
}
module b(out=-4 + 2 / 1): split { branch { } branch { relu } } then { shuffle }
"""


def test_parses_into_a_typed_tree_with_positions() -> None:
    f = parse(TEXT, "p.gs")
    net = f.networks[0]
    assert net.name == "n" and net.input == s.Setting((3, 8, 8), Span("p.gs", 2, 9))
    optional, tied = net.stem
    assert isinstance(optional, s.Group) and optional.options[1] == ()
    conv = optional.options[0][0]
    assert isinstance(conv, s.Layer) and conv.span == Span("p.gs", 4, 10)
    out, kernel = conv.args
    assert isinstance(out.value, s.BinOp) and out.value.op == "*"
    assert kernel.value == s.Range(3, 7, 2, "k", Span("p.gs", 4, 43))
    assert isinstance(tied, s.Group) and tied.tie == "t" and tied.options[1] == ()


def test_slots_normalise_optional_and_repeat() -> None:
    repeat, choice, optional, inline = parse(TEXT).networks[0].slots
    assert isinstance(repeat, s.Repeat) and repeat.count == 2
    assert isinstance(choice, s.SlotChoice) and isinstance(choice.options[1], s.Skip)
    assert isinstance(optional, s.SlotChoice) and isinstance(optional.options[0], s.Call)
    assert isinstance(inline, s.ModuleDef) and inline.inline and inline.kind == "residual"
    assert inline.post[0] == s.Layer("bn", (), inline.post[0].span)


def test_template_with_branches_and_negative_default() -> None:
    (b,) = parse(TEXT).templates
    assert b.kind == "split" and b.branches[0] == () and len(b.branches) == 2
    default = b.params[0].default
    assert isinstance(default, s.BinOp) and isinstance(default.left, s.Neg)


def test_comments_and_keywords_as_labels() -> None:
    f = parse("# c\nnetwork skip_net { modules { module skip { } } }  # end\n")
    (slot,) = f.networks[0].slots
    assert isinstance(slot, s.ModuleDef) and slot.name == "skip"
