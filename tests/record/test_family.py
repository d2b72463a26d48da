"""family.json: written whole, read back as written."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from genesynth.errors import RunError
from genesynth.record.family import (
    Member,
    file_digest,
    read_family,
    read_family_json,
    verified_weights,
    write_family,
)
from genesynth.record.layout import FAMILY_FILE, MEMBER_ARCH, member_path

MEMBER = Member("A", 3, "k", 97.0, 96.5, 1000, 20000, None, 70.0, True,
                member_path("A", MEMBER_ARCH), "family/A/arch.gs", None)


def test_write_then_read(tmp_path: Path) -> None:
    assert read_family(tmp_path) is None and read_family_json(tmp_path) is None
    path = write_family(tmp_path, [MEMBER])
    assert path == tmp_path / FAMILY_FILE
    assert read_family_json(tmp_path) == {"members": [MEMBER.to_dict()]}
    assert read_family(tmp_path) == [MEMBER]
    assert [p.name for p in tmp_path.iterdir()] == [FAMILY_FILE]  # no partial file left


def test_damaged_file_is_a_run_error(tmp_path: Path) -> None:
    (tmp_path / FAMILY_FILE).write_text("[1, 2]")
    with pytest.raises(RunError, match=r"family.json: expected a JSON object, got list"):
        read_family_json(tmp_path)
    (tmp_path / FAMILY_FILE).write_text("{")
    with pytest.raises(RunError, match=r"family.json: not valid JSON"):
        read_family_json(tmp_path)
    with pytest.raises(RunError, match=r"family.json: not valid JSON"):
        read_family(tmp_path)  # resume says so, rather than making a family again


def test_member_paths() -> None:
    assert member_path("B") == "family/B"
    assert json.loads(json.dumps(MEMBER.to_dict()))["arch"] == "family/A/arch.json"


GOOD = MEMBER.to_dict()


@pytest.mark.parametrize(("content", "message"), [
    ({"members": {"A": "x"}}, "'members' must be a list of members, but got dict"),
    ({"members": ["A"]}, r"members\[0\]: expected an object, got str"),
    ({"members": [{**GOOD, "accuracy": "97"}]}, r"members\[0\]: accuracy must be a number "
                                               r"0..100, but got '97'"),
    ({"members": [{**GOOD, "params": -5}]}, r"params must be an integer >= 0, but got -5"),
    ({"members": [{**GOOD, "params": True}]}, r"params must be an integer >= 0, but got True"),
    ({"members": [{**GOOD, "label": 7}]}, r"label must be a label of letters, digits, '_' or "
                                          r"'-' starting with a letter, but got 7"),
    ({"members": [{**GOOD, "label": "A\n<script>"}]}, r"label must be .* but got 'A\\n<script>'"),
    ({"members": [{**GOOD, "label": "../x"}]}, r"label must be .* but got '../x'"),
    ({"members": [GOOD, GOOD]}, r"members\[1\]: label 'A' appears twice"),
    ({"members": [{k: v for k, v in GOOD.items() if k != "macs"}]}, r"missing macs"),
    ({"members": [{**GOOD, "weights_sha256": "zz"}]}, r"weights_sha256 must be 64 lowercase hex"),
    ({"members": [{**GOOD, "latency_ms": -1.0}]}, r"latency_ms must be a number >= 0"),
])
def test_family_json_is_checked_on_read(tmp_path: Path, content: object, message: str) -> None:
    """Issue 25: a damaged family.json is one clear error naming the member and key (it was an
    AttributeError or ValueError traceback in resume and report, and nonsense in watch)."""
    (tmp_path / FAMILY_FILE).write_text(json.dumps(content))
    with pytest.raises(RunError, match=r"family.json: (members\[\d\]: )?" + message):
        read_family_json(tmp_path)
    with pytest.raises(RunError, match=message):
        read_family(tmp_path)


def test_family_json_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / FAMILY_FILE).mkdir()
    with pytest.raises(RunError, match=r"family.json: expected a file, but it is not a regular"):
        read_family_json(tmp_path)


def test_weights_digest_is_recorded_and_checked(tmp_path: Path) -> None:
    """Issue 25: flipped bytes in a member's weights are refused (they exported silently as a
    different model)."""
    folder = tmp_path / member_path("A")
    folder.mkdir(parents=True)
    weights = folder / "weights.safetensors"
    weights.write_bytes(bytes(range(256)) * 4)
    member = replace(MEMBER, weights=member_path("A", "weights.safetensors"),
                     weights_sha256=file_digest(weights))
    assert file_digest(weights) == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert verified_weights(tmp_path, member, "A") == weights
    assert verified_weights(tmp_path, member.to_dict(), "A") == weights
    data = bytearray(weights.read_bytes())
    data[100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(RunError, match=r"weights.safetensors: member 'A''s weights are not the "
                                       r"ones the run wrote \(SHA-256 [0-9a-f]{16}\.\.\., "
                                       r"family.json records [0-9a-f]{16}\.\.\.\); they were "
                                       r"changed or damaged; refusing to use them"):
        verified_weights(tmp_path, member, "A")
    older = replace(member, weights_sha256=None)  # a run written before digests: not checked
    assert verified_weights(tmp_path, older, "A") == weights
