"""The debiased exponential moving average of a series (TensorBoard's
smoothing), the same maths as chart.js's ``ema``. Pure.

For each finite y, in order: ``last = last * w + (1 - w) * y``, ``count += 1``,
and the smoothed value is ``last / (1 - w ** count)`` (``last`` when w is 0);
a non-finite y passes through and moves nothing.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

__all__ = ["ema_python"]


def ema_python(ys: Iterable[float], weight: float, last: float = 0.0,
               count: float = 0.0) -> tuple[array[float], float, float]:
    """The smoothed ``ys`` continuing from the state (``last``, ``count``),
    and the state after them: chart.js's loop, one point at a time. Pure."""
    out = array("d")
    isfinite = math.isfinite
    for y in ys:
        if not isfinite(y):
            out.append(y)
            continue
        last = last * weight + (1 - weight) * y
        count += 1
        out.append(last / (1 if weight == 0 else 1 - weight ** count))
    return out, last, count
