"""Dense linear algebra the surrogate needs and NumPy lacks: triangular solves, in blocks.

NumPy has no triangular solve (``np.linalg.solve`` factorises again by LU, O(n³) per call),
and SciPy is not a dependency; so a lower-triangular system is solved by blocked forward
substitution: per block of rows one small dense solve and one matrix product, O(n²·k) for
k right-hand sides, all in BLAS. Call these under the sampler's BLAS limit
(:func:`one_thread`): on a busy 2-core machine a threaded BLAS is many times slower.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any

import numpy as np

BLOCK = 128


def solve_lower(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x`` with ``chol @ x == b`` for a lower-triangular ``chol`` (``b``: a vector or n x k)."""
    n = chol.shape[0]
    x = np.empty(b.shape)
    for start in range(0, n, BLOCK):
        end = min(n, start + BLOCK)
        rhs = b[start:end] - chol[start:end, :start] @ x[:start]
        x[start:end] = np.linalg.solve(chol[start:end, start:end], rhs)
    return x


def solve_upper(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x`` with ``chol.T @ x == b`` for a lower-triangular ``chol`` (back substitution)."""
    n = chol.shape[0]
    x = np.empty(b.shape)
    for end in range(n, 0, -BLOCK):
        start = max(0, end - BLOCK)
        rhs = b[start:end] - chol[end:, start:end].T @ x[end:]
        x[start:end] = np.linalg.solve(chol[start:end, start:end].T, rhs)
    return x


def extend_cholesky(chol: np.ndarray, cross: np.ndarray, corner: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Cholesky factor of ``[[A, cross], [cross.T, corner]]`` from ``chol`` (of ``A``),
    in O(n²·k) for k new rows; also ``B = chol⁻¹ cross`` and the new corner factor ``C``
    (``[[chol, 0], [B.T, C]]``). Raises ``np.linalg.LinAlgError`` if not positive definite."""
    n, k = chol.shape[0], corner.shape[0]
    below = solve_lower(chol, cross)  # n x k
    corner_chol = np.linalg.cholesky(corner - below.T @ below)
    out = np.zeros((n + k, n + k))
    out[:n, :n] = chol
    out[n:, :n] = below.T
    out[n:, n:] = corner_chol
    return out, below, corner_chol


@contextmanager
def blas_limit(threads: int | None = 1) -> Iterator[None]:
    """NumPy's BLAS limited to ``threads`` inside the block (None: no limit). The sampler's
    small matrices gain nothing from threads and lose 17-37x to them on a busy machine."""
    if threads is None:
        yield
        return
    with _controller().limit(limits=threads, user_api="blas"):
        yield


def one_thread() -> AbstractContextManager[None]:
    """:func:`blas_limit` to one thread."""
    return blas_limit(1)


@cache
def _controller() -> Any:
    """The loaded thread pools, found once (a search of the process's libraries)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
