"""family.json: written whole, read back as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genesynth.errors import RunError
from genesynth.record.family import Member, read_family, read_family_json, write_family
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
    assert read_family(tmp_path) is None


def test_member_paths() -> None:
    assert member_path("B") == "family/B"
    assert json.loads(json.dumps(MEMBER.to_dict()))["arch"] == "family/A/arch.json"
