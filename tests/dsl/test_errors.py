"""One golden message per kind of mistake: the full rendered text, line and caret."""

from __future__ import annotations

import pytest

from genesynth import parse_prototype
from genesynth.errors import PrototypeError, PrototypeSyntaxError, ShapeError, SourceError

BASE = """network n {{
  input 3x8x8
  classes 4
  stem {{ {stem} }}
  modules {{ {slots} }}
  head {{ {head} }}
}}
{templates}"""

CASES = {
 "syntax": dict(stem="conv(out=8 kernel=3)"),
 "syntax_char": dict(stem="conv(out=8) $"),
 "layer_kind": dict(stem="cnov(out=8)"),
 "setting": dict(stem="conv(out=8, kernal=3)"),
 "template": dict(slots="blok(out=8)", templates="module block(out) { conv(out=out) }"),
 "missing_arg": dict(slots="block", templates="module block(out) { conv(out=out) }"),
 "unknown_arg": dict(slots="block(out=8, wide=2)", templates="module block(out) { conv(out=out) }"),
 "duplicate_template": dict(templates="module b { relu }\nmodule b { bn }"),
 "empty_choice": dict(stem="conv(out=[])"),
 "range": dict(stem="conv(out=16..8)"),
 "step": dict(stem="conv(out=8..16 step 0)"),
 "tie": dict(stem="conv(kernel=[3, 5] as k) conv(kernel=[3, 7] as k)"),
 "mbconv_body": dict(templates="module b: mbconv(out=8) { relu }", slots="b"),
 "split": dict(templates="module b: split { branch { relu } }", slots="b"),
 "softmax": dict(head="gap softmax linear(out=classes)"),
 "divisor": dict(stem="conv(out=8)"),
 "name": dict(templates="module b(out) { conv(out=ot * 2) }", slots="b(out=8)"),
 "type": dict(stem="conv(kernel=relu)"),
 "module_kind": dict(templates="module b: resid { relu }", slots="b"),
 "shape": dict(stem="conv(out=6, groups=4)"),
 "head": dict(head="gap"),
}

GOLDEN = [
    ('syntax', PrototypeSyntaxError, (
        "net.gs:4:21: unexpected 'kernel'; expected ')', '*', '+', ',', '-', '..' or '/'",
        '    4 |   stem { conv(out=8 kernel=3) }',
        '      |                     ^',
    )),
    ('syntax_char', PrototypeSyntaxError, (
        "net.gs:4:22: unexpected character '$'; expected '(', ')', '?', '|', '}' or a name",
        '    4 |   stem { conv(out=8) $ }',
        '      |                      ^',
    )),
    ('layer_kind', PrototypeError, (
        "net.gs:4:10: unknown layer kind 'cnov'; did you mean 'conv'?",
        '    4 |   stem { cnov(out=8) }',
        '      |          ^',
    )),
    ('setting', PrototypeError, (
        "net.gs:4:22: 'conv' has no setting 'kernal'; did you mean 'kernel'?",
        '    4 |   stem { conv(out=8, kernal=3) }',
        '      |                      ^',
    )),
    ('template', PrototypeError, (
        "net.gs:5:13: unknown template 'blok'; did you mean 'block'?",
        '    5 |   modules { blok(out=8) }',
        '      |             ^',
    )),
    ('missing_arg', PrototypeError, (
        "net.gs:5:13: template 'block' needs the argument 'out'",
        '    5 |   modules { block }',
        '      |             ^',
    )),
    ('unknown_arg', PrototypeError, (
        "net.gs:5:26: template 'block' has no argument 'wide'",
        '    5 |   modules { block(out=8, wide=2) }',
        '      |                          ^',
    )),
    ('duplicate_template', PrototypeError, (
        "net.gs:9:1: template 'b' is defined twice (first at line 8)",
        '    9 | module b { bn }',
        '      | ^',
    )),
    ('empty_choice', PrototypeError, (
        'net.gs:4:19: a choice needs at least one value',
        '    4 |   stem { conv(out=[]) }',
        '      |                   ^',
    )),
    ('range', PrototypeError, (
        'net.gs:4:19: a range needs low <= high, but got 16..8',
        '    4 |   stem { conv(out=16..8) }',
        '      |                   ^',
    )),
    ('step', PrototypeError, (
        'net.gs:4:19: a range needs step >= 1, but got step 0',
        '    4 |   stem { conv(out=8..16 step 0) }',
        '      |                   ^',
    )),
    ('tie', PrototypeError, (
        "net.gs:4:47: tied choice 'k' has a different domain here than at line 4",
        '    4 |   stem { conv(kernel=[3, 5] as k) conv(kernel=[3, 7] as k) }',
        '      |                                               ^',
    )),
    ('mbconv_body', PrototypeError, (
        "net.gs:8:1: a 'mbconv' module has no body; write '{ }'",
        '    8 | module b: mbconv(out=8) { relu }',
        '      | ^',
    )),
    ('split', PrototypeError, (
        "net.gs:8:1: a split module needs exactly two 'branch { }' blocks, but got 1",
        '    8 | module b: split { branch { relu } }',
        '      | ^',
    )),
    ('softmax', PrototypeError, (
        "net.gs:6:14: 'softmax' must be the last layer of the head",
        '    6 |   head { gap softmax linear(out=classes) }',
        '      |              ^',
    )),
    ('divisor', PrototypeError, (
        "net.gs:4:11: 'divisor' must be >= 1, but got divisor=0",
        '    4 |   divisor 0',
        '      |           ^',
    )),
    ('name', PrototypeError, (
        "net.gs:8:26: unknown name 'ot' in an expression; did you mean 'out'?",
        '    8 | module b(out) { conv(out=ot * 2) }',
        '      |                          ^',
    )),
    ('type', PrototypeError, (
        "net.gs:4:22: 'kernel' must be an integer, but got kernel='relu'",
        '    4 |   stem { conv(kernel=relu) }',
        '      |                      ^',
    )),
    ('module_kind', PrototypeError, (
        "net.gs:8:11: unknown module kind 'resid'; did you mean 'residual'?",
        '    8 | module b: resid { relu }',
        '      |           ^',
    )),
    ('shape', ShapeError, (
        'net.gs:4:22: groups=4 must divide both input channels (3) and output channels (6)',
        '    4 |   stem { conv(out=6, groups=4) }',
        '      |                      ^',
    )),
    ('head', ShapeError, (
        'net.gs:6:3: the head must end in 4 class scores, but gives 8',
        '    6 |   head { gap }',
        '      |   ^',
    )),
]


def _text(name: str) -> str:
    kw = dict(stem="conv(out=8) bn relu", slots="", head="gap linear(out=classes)", templates="")
    kw.update(CASES[name])
    text = BASE.format(**kw)
    if name == "divisor":
        text = text.replace("classes 4", "classes 4\n  divisor 0")
    return text


@pytest.mark.parametrize(("name", "error", "message"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_message(name: str, error: type[SourceError], message: tuple[str, ...]) -> None:
    with pytest.raises(SourceError) as info:
        parse_prototype(_text(name), "net.gs")
    assert type(info.value) is error
    assert str(info.value) == "\n".join(message)


def test_every_case_has_a_golden() -> None:
    assert [g[0] for g in GOLDEN] == list(CASES)
    assert {g[1] for g in GOLDEN} == {PrototypeSyntaxError, PrototypeError, ShapeError}


def test_end_of_file_points_after_the_last_character() -> None:
    with pytest.raises(PrototypeSyntaxError) as info:
        parse_prototype("network n {\n  stem { conv(out=16", "x.gs")
    assert str(info.value) == (
        "x.gs:2:21: unexpected the end of the file; expected ')', '*', '+', ',', '-', '..' "
        "or '/'\n    2 |   stem { conv(out=16\n      |                     ^"
    )
