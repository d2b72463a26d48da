"""The indicator constraint 1_r: bounds on measured quantities, and the utility to maximise.

A constraint file (TOML, see docs/constraints.md)::

    [bounds]
    min_accuracy = 95.0      # top-1 %, >=
    max_macs = "5M"          # <=; ints or "300K" / "5M" / "1.5G"
    max_params = "200K"      # <=
    max_latency_ms = 2.0     # <=, CPU, batch 1
    [latency]
    threads = 1              # threads for latency measurement
    table = "phone.json"     # a latency table: latency predicted, a static bound
    [utility]
    kind = "netscore"        # any registered utility; the rest are its parameters
    alpha = 2.0

Every mistake is a :class:`ConstraintError` naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesynth.errors import ConstraintError, SourceError, Span, did_you_mean
from genesynth.fmt import count
from genesynth.goal.utility import (
    UTILITIES,
    NetScore,
    Utility,
    UtilityParameterError,
    make_utility,
)
from genesynth.limits import (
    MAX_BUILD_PARAMS,
    MAX_THREADS,
    MAX_VALUE,
    load_toml,
    read_text,
    show_number,
)
from genesynth.net.measurement import Measurement

TOP_KEYS = ("bounds", "latency", "utility", "description")
BOUNDS = ("min_accuracy", "max_macs", "max_params", "max_latency_ms")
ACCURACY_OF = ("float", "int8")  # `[bounds] accuracy_of`: which model min_accuracy bounds
BOUND_KEYS = (*BOUNDS, "accuracy_of")
LATENCY = ("threads", "table")
SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}
COUNT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kKmMgG]?)\s*")


class ConstraintSyntaxError(SourceError, ConstraintError):
    """A constraint file is not valid TOML; shown with file:line:column and a caret."""


def parse_count(value: object, key: str) -> int:
    """An int, a whole float, or a string with an optional K/M/G suffix ("1.5M") as an int."""
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int) or isinstance(value, float) and value.is_integer():
        number = value
    elif isinstance(value, str) and len(value) <= 40 and (match := COUNT.fullmatch(value)):
        number = float(match.group(1)) * SUFFIXES[match.group(2).upper()]
    if number is None:
        raise ConstraintError(
            f"{key}: expected a count such as 5000000 or \"5M\", got {_show(value)}"
        )
    if number <= 0:
        raise ConstraintError(f"{key}: must be positive, got {_show(value)}")
    if number > MAX_VALUE:
        raise ConstraintError(f"{key}: must be at most {MAX_VALUE:.0e}, got {_show(value)}")
    return round(number)


def _show(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return show_number(value)
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConstraintError(f"{key}: expected a number, got {_show(value)}")
    if not -MAX_VALUE <= value <= MAX_VALUE:  # inf, nan, 1e400, a 400-digit integer
        raise ConstraintError(f"{key}: expected a finite number, got {_show(value)}")
    return float(value)


@dataclass(frozen=True)
class Constraint:
    """Bounds a candidate must meet (each optional) and the utility it is scored by."""

    min_accuracy: float | None = None  # top-1 %, >=
    max_macs: int | None = None
    max_params: int | None = None
    #: A lower MACs bound, set only by the family's widening phase that searches above
    #: member A (:mod:`genesynth.synth.widen`); not a constraint-file key.
    min_macs: int | None = None
    max_latency_ms: float | None = None  # CPU latency at batch 1, or the table's target
    latency_threads: int = 1
    latency_table: str | None = None  # a latency table file: latency is predicted, static
    #: "int8": min_accuracy bounds the int8 model's test top-1 (the family, adapt); the
    #: search's proxy accuracy is always the float network's.
    accuracy_of: str = "float"
    utility: Utility = field(default_factory=NetScore)
    description: str = ""
    path: str | None = None

    def __post_init__(self) -> None:
        checks = (
            ("min_accuracy", self.min_accuracy, lambda v: 0 <= v <= 100, "between 0 and 100"),
            ("max_macs", self.max_macs, lambda v: v > 0, "positive"),
            ("max_params", self.max_params, lambda v: v > 0, "positive"),
            ("max_latency_ms", self.max_latency_ms, lambda v: 0 < v <= MAX_VALUE,
             "positive and finite"),
            ("latency_threads", self.latency_threads, lambda v: 1 <= v <= MAX_THREADS,
             f"from 1 to {MAX_THREADS}"),
        )
        for key, value, ok, wording in checks:
            if value is not None and not ok(value):
                raise ConstraintError(f"`{key}` must be {wording}, but got {key}={value}")
        if self.accuracy_of not in ACCURACY_OF:
            raise ConstraintError(f"`accuracy_of` must be one of {', '.join(ACCURACY_OF)}, but "
                                  f"got accuracy_of={self.accuracy_of!r}")

    @property
    def needs_latency(self) -> bool:
        """Whether a candidate's CPU latency must be measured (a bound or the utility reads it)."""
        return self.max_latency_ms is not None or self.utility.needs_latency

    @property
    def predicts_latency(self) -> bool:
        """Whether latency comes from a table (known before training, like MACs) rather than
        from measuring each candidate on this machine."""
        return self.latency_table is not None

    @property
    def bound_names(self) -> tuple[str, ...]:
        """The bounds this constraint sets, in the order of :meth:`optuna_values`."""
        return tuple(b for b in BOUNDS if getattr(self, b) is not None)

    def static_violations(self, params: int, macs: int, latency_ms: float | None = None
                          ) -> list[str]:
        """The bounds broken by the analytic cost alone, e.g. ``["MACs 7.2M > 5M"]``, and by
        ``latency_ms`` when given (a predicted latency is as static as MACs).

        Without a params bound, more than MAX_BUILD_PARAMS parameters breaks one anyway: such
        a network cannot be built in memory.
        """
        out = []
        if self.min_macs is not None and macs < self.min_macs:
            out.append(f"MACs {count(macs)} < {count(self.min_macs)}")
        if self.max_macs is not None and macs > self.max_macs:
            out.append(f"MACs {count(macs)} > {count(self.max_macs)}")
        if self.max_params is not None and params > self.max_params:
            out.append(f"params {count(params)} > {count(self.max_params)}")
        elif params > MAX_BUILD_PARAMS:  # a built-in cap: such a network cannot be built
            out.append(f"params {count(params)} > {count(MAX_BUILD_PARAMS)}, "
                       "the most a network may have to be built")
        if (latency_ms is not None and self.max_latency_ms is not None
                and latency_ms > self.max_latency_ms):
            out.append(f"latency {latency_ms:.3g} ms > {self.max_latency_ms:g} ms")
        return out

    def violations(self, m: Measurement) -> list[str]:
        """Every bound ``m`` breaks, as text; a latency bound without a measurement is broken."""
        out = []
        if self.min_accuracy is not None and m.accuracy < self.min_accuracy:
            out.append(f"accuracy {m.accuracy:.2f}% < {self.min_accuracy:g}%")
        out += self.static_violations(m.params, m.macs)
        if self.max_latency_ms is not None:
            if m.latency_ms is None:
                out.append("latency not measured")
            elif m.latency_ms > self.max_latency_ms:
                out.append(f"latency {m.latency_ms:.3g} ms > {self.max_latency_ms:g} ms")
        return out

    def feasible(self, m: Measurement) -> bool:
        return not self.violations(m)

    def optuna_values(self, m: Measurement) -> tuple[float, ...]:
        """One value per bound (:attr:`bound_names` order); <= 0 means the bound holds.

        Accuracy as ``min_accuracy - accuracy`` (percentage points); counts and latency as
        ``value / bound - 1``, so their scales are comparable. Raises ValueError when a latency
        bound is set but ``m.latency_ms`` is None.
        """
        values = []
        if self.min_accuracy is not None:
            values.append(self.min_accuracy - m.accuracy)
        if self.max_macs is not None:
            values.append(m.macs / self.max_macs - 1.0)
        if self.max_params is not None:
            values.append(m.params / self.max_params - 1.0)
        if self.max_latency_ms is not None:
            if m.latency_ms is None:
                raise ValueError("the constraint bounds latency, but latency_ms is None")
            values.append(m.latency_ms / self.max_latency_ms - 1.0)
        return tuple(values)

    def describe(self) -> dict[str, Any]:
        """JSON-able: the file's tables plus ``path``; :meth:`from_dict` reads it back."""
        bounds: dict[str, Any] = {b: getattr(self, b) for b in self.bound_names}
        if self.accuracy_of != "float":
            bounds["accuracy_of"] = self.accuracy_of
        latency: dict[str, Any] = {"threads": self.latency_threads}
        if self.latency_table is not None:
            latency["table"] = self.latency_table
        out: dict[str, Any] = {"path": self.path, "bounds": bounds, "latency": latency,
                               "utility": self.utility.describe()}
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<constraint>") -> Constraint:
        """The constraint a file's tables describe (``path`` optional); ``source`` names it
        in errors."""
        data = dict(data)
        path = data.pop("path", None)
        if path is not None and not isinstance(path, str):
            raise ConstraintError(f"{source}: path: expected a string, got {_show(path)}")
        return _parse(data, source, path)


def load_constraint(path: str | Path) -> Constraint:
    """Read a constraint file; raises ConstraintError naming the file and the key."""
    name = str(path)
    text = read_text(path, "constraint file", ConstraintError)
    try:
        data = load_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(name, text, exc) from exc
    except ValueError as exc:  # nested too deeply, an integer of more than 4300 digits
        raise ConstraintError(f"{name}: invalid TOML: {str(exc).splitlines()[0]}") from None
    return _parse(data, name, name)


def _syntax_error(name: str, text: str, exc: tomllib.TOMLDecodeError) -> ConstraintSyntaxError:
    message = str(exc)
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if where:
        line, column = int(where.group(1)), int(where.group(2))
        message = message[: where.start()]
    else:  # "(at end of document)"
        message = re.sub(r"\s*\(at end of document\)$", "", message)
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    return ConstraintSyntaxError(f"invalid TOML: {message}", Span(name, line, column), text)


def _table(data: dict[str, Any], section: str, allowed: tuple[str, ...] | None,
           source: str) -> dict[str, Any]:
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise ConstraintError(f"{source}: {section}: expected a table [{section}]")
    unknown = [key for key in table if allowed is not None and key not in allowed]
    if unknown and allowed is not None:
        hint = did_you_mean(unknown[0], allowed) or f"; expected one of: {', '.join(allowed)}"
        raise ConstraintError(f"{source}: {section}.{unknown[0]}: unknown key{hint}")
    return dict(table)


def _parse(data: dict[str, Any], source: str, path: str | None) -> Constraint:
    for key in data:
        if key not in TOP_KEYS:
            hint = did_you_mean(key, TOP_KEYS) or f"; expected: {', '.join(TOP_KEYS)}"
            raise ConstraintError(f"{source}: {key}: unknown key{hint}")
    bounds = _bounds(_table(data, "bounds", BOUND_KEYS, source), source)
    latency = _table(data, "latency", LATENCY, source)
    threads = latency.get("threads", 1)
    # 100000 threads once took every process slot of the machine, then segfaulted
    if isinstance(threads, bool) or not isinstance(threads, int) \
            or not 1 <= threads <= MAX_THREADS:
        raise ConstraintError(
            f"{source}: latency.threads: expected a whole number of threads from 1 to "
            f"{MAX_THREADS}, got {_show(threads)}")
    table = _table_path(latency.get("table"), source, path)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConstraintError(f"{source}: description: expected a string, got {_show(description)}")
    utility = _utility(_table(data, "utility", None, source), bounds, source)
    try:
        return Constraint(**bounds, latency_threads=threads, latency_table=table,
                          utility=utility, description=description, path=path)
    except ConstraintError as exc:
        raise ConstraintError(f"{source}: {exc}") from exc


def _table_path(value: object, source: str, path: str | None) -> str | None:
    """A latency table's path, relative to the constraint file's folder, made absolute (so
    run.json names the same file wherever it is read)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 4096:
        raise ConstraintError(f"{source}: latency.table: expected the path of a latency table "
                              f"file (.json), got {_show(value)}")
    table = Path(value)
    if not table.is_absolute() and path is not None:
        table = Path(path).parent / table
    return str(table.absolute())


def _bounds(table: dict[str, Any], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{source}: bounds.{key}"
        if key == "accuracy_of":
            if value not in ACCURACY_OF:
                names = ", ".join(f'"{name}"' for name in ACCURACY_OF)
                raise ConstraintError(f"{where}: expected {names} (the model min_accuracy "
                                      f"bounds), got {_show(value)}")
            out[key] = value
            continue
        if key in ("max_macs", "max_params"):
            out[key] = parse_count(value, where)
            continue
        number = _number(value, where)
        if key == "min_accuracy" and not 0 <= number <= 100:
            raise ConstraintError(f"{where}: expected a top-1 accuracy in % (0..100), got {value}")
        if key == "max_latency_ms" and number <= 0:
            raise ConstraintError(f"{where}: must be positive, got {value}")
        out[key] = number
    return out


def _utility(table: dict[str, Any], bounds: dict[str, Any], source: str) -> Utility:
    kind = table.pop("kind", "netscore")
    if not isinstance(kind, str):
        raise ConstraintError(f"{source}: utility.kind: expected a string, got {_show(kind)}")
    for key, value in table.items():
        _number(value, f"{source}: utility.{key}")
    cls = UTILITIES.get(kind)
    if cls is not None and "target_ms" in cls.parameters() and "target_ms" not in table:
        if "max_latency_ms" not in bounds:
            raise ConstraintError(
                f"{source}: utility.target_ms: the {kind} utility needs a latency target "
                "(utility.target_ms, or bounds.max_latency_ms)"
            )
        table["target_ms"] = bounds["max_latency_ms"]
    try:
        return make_utility(kind, **table)
    except UtilityParameterError as exc:
        raise ConstraintError(f"{source}: utility.{exc.key}: {exc}") from exc
