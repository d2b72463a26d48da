"""Universal utilities: the number the synthesizer maximises for a measured candidate.

One extension point, :class:`Utility`: a frozen dataclass with a registered ``name`` and
``__call__(measurement) -> float`` (higher is better). ``make_utility(kind, **params)`` is the
one resolver from a constraint file's ``utility.kind`` to an instance. Constructors validate
their parameters and raise :class:`UtilityParameterError` ("`alpha` must be positive, but got
alpha=-1"), which a constraint file reports with its path and key::

    from genesynth.goal.utility import NetScore

    NetScore(alpha=2.0)(measurement)    # Ω = 20·log10(a^α / (p^β · m^γ))

The indicator constraint 1_r and constraint files are :mod:`genesynth.goal.constraint`.
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, ClassVar, TypeVar

import numpy as np

from genesynth.errors import ConstraintError, did_you_mean
from genesynth.net.measurement import Measurement

U = TypeVar("U", bound="type[Utility]")

#: Every utility by ``kind``; filled by :func:`register_utility`.
UTILITIES: dict[str, type[Utility]] = {}


class UtilityParameterError(ConstraintError):
    """A utility parameter is out of its domain; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def register_utility(kind: str) -> Callable[[U], U]:
    """Class decorator: make the utility available as ``kind = "<kind>"``."""

    def register(cls: U) -> U:
        cls.name = kind
        UTILITIES[kind] = cls
        return cls

    return register


class Utility(ABC):
    """Scores a measurement; higher is better.

    Subclasses are frozen dataclasses whose fields are the parameters a constraint file may
    set. ``needs_latency`` says whether ``__call__`` reads ``measurement.latency_ms``.
    """

    name: ClassVar[str] = ""
    needs_latency: ClassVar[bool] = False

    @abstractmethod
    def __call__(self, m: Measurement) -> float: ...

    def many(self, accuracy: np.ndarray, params: np.ndarray, macs: np.ndarray,
             latency_ms: np.ndarray | None = None) -> np.ndarray:
        """The utility at every accuracy of row ``i`` of ``accuracy`` (networks x accuracies)
        with ``params[i]``, ``macs[i]`` (and ``latency_ms[i]``), as a model-based sampler
        asks it; a call per element here, so a utility that can computes it in arrays."""
        out = np.empty(accuracy.shape)
        for i, j in np.ndindex(*accuracy.shape):
            ms = None if latency_ms is None else float(latency_ms[i])
            out[i, j] = self(Measurement(float(accuracy[i, j]), int(params[i]), int(macs[i]),
                                         ms))
        return out

    def describe(self) -> dict[str, Any]:
        """``{"kind": name, **parameters}`` (None omitted): a constraint file's [utility] table."""
        params = asdict(self)  # type: ignore[call-overload]
        return {"kind": self.name, **{k: v for k, v in params.items() if v is not None}}

    @classmethod
    def parameters(cls) -> tuple[str, ...]:
        """Every parameter a constraint file may set."""
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def required(cls) -> tuple[str, ...]:
        """The parameters without a default."""
        return tuple(
            f.name for f in fields(cls)  # type: ignore[arg-type]
            if f.default is MISSING and f.default_factory is MISSING
        )


def _require(ok: bool, key: str, value: float, wording: str) -> None:
    if not math.isfinite(value):
        raise UtilityParameterError(key, f"`{key}` must be a finite number, but got {key}={value}")
    if not ok:
        raise UtilityParameterError(key, f"`{key}` must be {wording}, but got {key}={value}")


@register_utility("netscore")
@dataclass(frozen=True)
class NetScore(Utility):
    """Wong's NetScore: Ω = 20·log10(a^α / (p^β · m^γ)).

    ``a`` is top-1 accuracy in percent, ``p`` parameters in millions, ``m`` MACs in millions.
    To stay finite, ``a`` is taken as at least 1e-3 and ``p`` and ``m`` as at least 1e-6
    (one parameter / one MAC).
    """

    alpha: float = 2.0
    beta: float = 0.5
    gamma: float = 0.5

    def __post_init__(self) -> None:
        _require(self.alpha > 0, "alpha", self.alpha, "positive")
        _require(self.beta >= 0, "beta", self.beta, "zero or positive")
        _require(self.gamma >= 0, "gamma", self.gamma, "zero or positive")

    def __call__(self, m: Measurement) -> float:
        a = max(m.accuracy, 1e-3)
        p = max(m.params / 1e6, 1e-6)
        macs = max(m.macs / 1e6, 1e-6)
        return 20.0 * (self.alpha * math.log10(a) - self.beta * math.log10(p)
                       - self.gamma * math.log10(macs))

    def many(self, accuracy: np.ndarray, params: np.ndarray, macs: np.ndarray,
             latency_ms: np.ndarray | None = None) -> np.ndarray:
        a = np.log10(np.maximum(accuracy, 1e-3))
        p = np.log10(np.maximum(np.asarray(params, dtype=float) / 1e6, 1e-6))
        m = np.log10(np.maximum(np.asarray(macs, dtype=float) / 1e6, 1e-6))
        return 20.0 * (self.alpha * a - (self.beta * p + self.gamma * m)[:, None])


@register_utility("mnas")
@dataclass(frozen=True)
class MnasReward(Utility):
    """MnasNet's reward ACC·(LAT/T)^w, ACC in percent, LAT the measured latency in ms.

    ``w`` applies when LAT ≤ T and ``w_over`` (default: ``w``) when LAT > T; MnasNet's soft
    constraint is w = w_over = -0.07, its hard one w = 0, w_over = -1.
    """

    needs_latency: ClassVar[bool] = True

    target_ms: float
    w: float = -0.07
    w_over: float | None = None

    def __post_init__(self) -> None:
        _require(self.target_ms > 0, "target_ms", self.target_ms, "positive")
        _require(self.w <= 0, "w", self.w, "zero or negative")
        if self.w_over is not None:
            _require(self.w_over <= 0, "w_over", self.w_over, "zero or negative")

    def __call__(self, m: Measurement) -> float:
        if m.latency_ms is None:
            raise ValueError("the mnas reward needs a measured latency, but latency_ms is None")
        ratio = max(m.latency_ms, 1e-9) / self.target_ms
        w = self.w if ratio <= 1 or self.w_over is None else self.w_over
        try:
            scale = ratio**w
        except OverflowError:  # a far-off target with a steep exponent: as large as a float goes
            scale = sys.float_info.max
        return m.accuracy * scale


def make_utility(kind: str, **params: Any) -> Utility:
    """The utility registered as ``kind``, built with ``params``.

    Raises UtilityParameterError naming an unknown kind (key "kind") or parameter, or a value
    out of its domain.
    """
    if kind not in UTILITIES:
        hint = did_you_mean(kind, UTILITIES) or f"; known: {', '.join(sorted(UTILITIES))}"
        raise UtilityParameterError("kind", f"unknown utility '{kind}'{hint}")
    cls = UTILITIES[kind]
    allowed = cls.parameters()
    for key in params:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f"; '{kind}' takes: {', '.join(allowed)}"
            raise UtilityParameterError(key, f"unknown parameter{hint}")
    missing = [key for key in cls.required() if key not in params]
    if missing:
        raise UtilityParameterError(missing[0], f"the '{kind}' utility needs `{missing[0]}`")
    return cls(**params)
