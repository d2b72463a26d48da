"""The names of everything a run directory and its study hold, in one place.

See docs/run-directory.md for what each file contains.
"""

from __future__ import annotations

from pathlib import Path

RUN_FILE = "run.json"
STUDY_FILE = "study.log"  # an Optuna journal file
LEGACY_STUDY_FILE = "study.db"  # SQLite, as earlier runs kept it
EVENTS_FILE = "events.jsonl"
FAMILY_FILE = "family.json"
FAMILY_DIR = "family"
BASELINES_FILE = "baselines.json"
REPORT_FILE, PARETO_FILE, HISTORY_FILE = "report.md", "pareto.png", "history.png"

#: Files of one family member, inside ``family/<label>/``.
MEMBER_ARCH, MEMBER_TEXT, MEMBER_WEIGHTS = "arch.json", "arch.gs", "weights.safetensors"
#: In a member's folder while the family is made: its record once retrained (what family.json
#: will say of it; a resumed run keeps it), and the epochs done while it retrains.
MEMBER_RECORD, MEMBER_PROGRESS = "member.json", "progress.json"

#: Study user_attrs: the run description, "the family is made", where it was written, a copy
#: of family.json's content (so a watcher on another machine shows it), and the trials planned
#: once an extra search phase raised them.
RUN_ATTR, FINISHED_ATTR, FAMILY_OUT_ATTR = "run", "finished", "family_out"
FAMILY_COPY_ATTR, PLANNED_ATTR = "family", "planned"


def member_path(label: str, name: str = "") -> str:
    """``family/<label>`` or ``family/<label>/<name>``, relative to the run directory."""
    return f"{FAMILY_DIR}/{label}/{name}" if name else f"{FAMILY_DIR}/{label}"


def study_url(out: Path) -> str:
    """The storage URL of the study a run directory keeps (its journal, or an older SQLite)."""
    if not (out / STUDY_FILE).exists() and (out / LEGACY_STUDY_FILE).exists():
        return f"sqlite:///{(out / LEGACY_STUDY_FILE).resolve()}"
    return f"journal://{(out / STUDY_FILE).resolve()}"
