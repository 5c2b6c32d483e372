"""The answer threshold calibrated on the business's own cases to a target precision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# Cases hold only questions the knowledge base answers, never off-topic ones, so the calibrated
# threshold is kept where the confidence model still rejects most off-topic questions
# (bench/fit_confidence.py: about 0.96 of them are below 0.35 on every base).
LOWEST_THRESHOLD = 0.35
# Above this almost nothing is answered; a base whose cases never reach the target precision
# stops here rather than handing every question over.
HIGHEST_THRESHOLD = 0.9
# Fewer cases than this say too little about a base to move its threshold.
MIN_CASES = 20

CalibrationSource = Literal["cases", "default"]
"""Where the threshold came from: the business's cases, or the conservative default."""


@dataclass(frozen=True)
class Calibration:
    """The threshold answers are given at, and what it does on the cases.

    `precision` is the share of right first hits among the cases answered at `threshold`,
    `coverage` the share of cases answered; both are None without cases.
    """

    threshold: float
    source: CalibrationSource
    target: float
    cases: int = 0
    precision: float | None = None
    coverage: float | None = None


def calibrate(
    scored: Sequence[tuple[float, bool]], *, target: float, default: float
) -> Calibration:
    """The lowest threshold at which the first hits of the cases are at least `target` right.

    `scored` holds, per case, the first hit's confidence and whether it was the right record.
    The lowest such threshold answers the most cases; it is kept within `LOWEST_THRESHOLD` and
    `HIGHEST_THRESHOLD`. With fewer than `MIN_CASES` cases the threshold stays at `default`.
    """
    if len(scored) < MIN_CASES:
        return _measured(scored, default, "default", target)
    chosen = HIGHEST_THRESHOLD
    for threshold in sorted({confidence for confidence, _ in scored}):
        answered = [right for confidence, right in scored if confidence >= threshold]
        if answered and sum(answered) / len(answered) >= target:
            chosen = threshold
            break
    bounded = min(HIGHEST_THRESHOLD, max(LOWEST_THRESHOLD, chosen))
    return _measured(scored, bounded, "cases", target)


def _measured(
    scored: Sequence[tuple[float, bool]],
    threshold: float,
    source: CalibrationSource,
    target: float,
) -> Calibration:
    if not scored:
        return Calibration(threshold=threshold, source=source, target=target)
    answered = [right for confidence, right in scored if confidence >= threshold]
    return Calibration(
        threshold=threshold,
        source=source,
        target=target,
        cases=len(scored),
        precision=round(sum(answered) / len(answered), 4) if answered else None,
        coverage=round(len(answered) / len(scored), 4),
    )
