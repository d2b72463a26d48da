"""No secret in print: a PostgreSQL password given in the storage URL never reaches the
output of any command, nor any file of the run, nor the study's own record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from genesynth.cli import main
from genesynth.storage import open_storage
from genesynth.urls import redact, scrub, without_password
from tests.synth.test_distributed import _inputs
from tests.synth.test_distributed import postgres_url as _postgres_url

SECRET = "Sekr3t:pw@x"  # a password with characters URLs must quote
QUOTED = "Sekr3t%3Apw%40x"

postgres_url = _postgres_url  # the fixture, under its own name


@pytest.fixture
def secret_url(postgres_url: str) -> Iterator[str]:
    """The throwaway server's URL with a password in it (the server trusts any password)."""
    yield postgres_url.replace("postgres@", f"postgres:{QUOTED}@")


def test_urls() -> None:
    url = f"postgresql://bob:{QUOTED}@db:5432/g?sslmode=require"
    assert redact(url) == "postgresql://bob:***@db:5432/g?sslmode=require"
    assert without_password(url) == "postgresql://bob@db:5432/g?sslmode=require"
    assert redact("postgresql://bob@db/g?password=hunter2") == \
        "postgresql://bob@db/g?password=***"
    assert without_password("postgresql://bob@db/g?password=hunter2") == "postgresql://bob@db/g"
    assert scrub(f"failed for {SECRET} and {QUOTED}", url) == "failed for *** and ***"
    for plain in ("journal:///tmp/s.log", "sqlite:///s.db", "postgresql://bob@db/g"):
        assert redact(plain) == plain == without_password(plain)


def test_no_password_in_output_files_or_study(
        tmp_path: Path, secret_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    proto, rule, table = _inputs(tmp_path)
    out = tmp_path / "run"
    start = ["synthesize", str(proto), "--constraint", str(rule), "--table", str(table),
             "--trials", "3", "--family", "1", "--storage", secret_url, "--study", "s",
             "--out", str(out), "--plain"]
    assert main(start) == 0
    assert main(start) == 2  # "already holds this run"
    for command in (["worker", "--storage", secret_url, "--study", "nope", "--plain"],
                    ["family", "--storage", secret_url, "--study", "nope"],
                    ["watch", "--storage", secret_url, "--study", "nope", "--plain"]):
        assert main(command) == 2
    assert main(["watch", "--storage", secret_url, "--study", "s", "--plain"]) == 0
    assert main(["report", str(out)]) == 0  # the recorded URL has no password: libpq's own
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "already holds this run" in text and "no study 'nope'" in text
    assert "postgres:***@127.0.0.1" in text
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"run.json", "report.md", "family.json"} <= {p.name for p in files}
    for secret in (SECRET, QUOTED):
        assert secret not in text
        for path in files:
            assert secret.encode() not in path.read_bytes(), path
    study = optuna.load_study(study_name="s", storage=open_storage(secret_url, create=False))
    assert QUOTED not in str(study.user_attrs) and SECRET not in str(study.user_attrs)
    assert study.user_attrs["run"]["storage"] == without_password(secret_url)
