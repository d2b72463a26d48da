"""Storage URLs without their secrets: what may be printed, and what may be written to a file.

A PostgreSQL or MySQL URL may carry a password (``postgresql://bob:secret@db/genesynth``, or
``?password=secret``). genesynth uses the URL as given to connect, but never prints it or
writes it down: messages show :func:`redact` (``bob:***@db``), and ``run.json``, the study's
own record and reports keep :func:`without_password` (``bob@db``). A process that opens such
a recorded URL again (``report``, ``watch``, ``worker``) authenticates as PostgreSQL users
expect: ``PGPASSWORD``, a ``~/.pgpass`` file or a libpq service file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

_FILE_SCHEMES = ("journal://", "sqlite://")


def redact(url: str) -> str:
    """``url`` for messages: any password replaced by ``***``."""
    parsed = _parse(url)
    if parsed is None:
        return url if not _may_hold_secret(url) else url.split("://", 1)[0] + "://***"
    if parsed.password is None and "password" not in parsed.query:
        return url
    shown = str(parsed.difference_update_query(["password"]).render_as_string(hide_password=True))
    if "password" in parsed.query:
        shown += ("&" if "?" in shown else "?") + "password=***"
    return shown


def without_password(url: str) -> str:
    """``url`` for files: the password left out (libpq then reads PGPASSWORD or ~/.pgpass)."""
    parsed = _parse(url)
    if parsed is None:
        return url if not _may_hold_secret(url) else url.split("://", 1)[0] + "://"
    if parsed.password is None and "password" not in parsed.query:
        return url
    bare = parsed._replace(password=None).difference_update_query(["password"])
    return str(bare.render_as_string(hide_password=False))


def has_password(url: str) -> bool:
    """Whether ``url`` carries a password (``user:secret@host`` or ``?password=``)."""
    parsed = _parse(url)
    if parsed is None:
        return _may_hold_secret(url) and ":" in url.split("://", 1)[-1].split("@", 1)[0]
    return bool(parsed.password) or "password" in parsed.query


def scrub(text: str, url: str) -> str:
    """``text`` (a driver's error message, say) with ``url``'s password replaced by ``***``."""
    parsed = _parse(url)
    secrets = [parsed.password, parsed.query.get("password")] if parsed is not None else []
    for secret in secrets:
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text


def _may_hold_secret(url: str) -> bool:
    return not url.startswith(_FILE_SCHEMES) and ("@" in url or "password" in url)


def _parse(url: str) -> URL | None:
    """SQLAlchemy's parse of a database URL; None for a file URL or what it cannot parse."""
    if not url or url.startswith(_FILE_SCHEMES):
        return None
    try:
        from sqlalchemy.engine import make_url

        return make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: treated as possibly secret by the caller
        return None
