"""The answer threshold calibrated on the business's own cases."""

from __future__ import annotations

from talkme_consultant.knowledge.calibration import (
    HIGHEST_THRESHOLD,
    LOWEST_THRESHOLD,
    MIN_CASES,
    calibrate,
)


def _cases(right: list[float], wrong: list[float]) -> list[tuple[float, bool]]:
    return [(c, True) for c in right] + [(c, False) for c in wrong]


def test_the_threshold_is_the_lowest_confidence_that_keeps_the_target_precision() -> None:
    # Twenty right first hits from 0.50 to 0.97, wrong ones at 0.45, 0.55 and 0.60.
    right = [0.50 + 0.025 * i for i in range(20)]
    scored = _cases(right, [0.45, 0.55, 0.60])

    calibration = calibrate(scored, target=0.9, default=0.5)

    # At 0.45 all 23 are answered, 20 right (0.87); from 0.50 on, 20 of 22 (0.91).
    assert calibration.source == "cases"
    assert calibration.threshold == 0.5
    assert calibration.cases == 23
    assert calibration.precision == round(20 / 22, 4)
    assert calibration.coverage == round(22 / 23, 4)


def test_a_stricter_target_raises_the_threshold_and_lowers_coverage() -> None:
    right = [0.50 + 0.025 * i for i in range(20)]
    scored = _cases(right, [0.45, 0.55, 0.60])

    strict = calibrate(scored, target=1.0, default=0.5)

    assert strict.threshold > 0.60
    assert strict.precision == 1.0
    assert strict.coverage is not None and strict.coverage < 22 / 23


def test_without_enough_cases_the_default_stays() -> None:
    few = _cases([0.9] * (MIN_CASES - 1), [])

    calibration = calibrate(few, target=0.9, default=0.5)

    assert calibration.source == "default"
    assert calibration.threshold == 0.5
    assert calibration.precision == 1.0
    assert calibrate([], target=0.9, default=0.5).precision is None


def test_the_threshold_never_drops_to_where_off_topic_questions_get_answered() -> None:
    # Every case is right even at 0.05, but cases hold no off-topic questions.
    calibration = calibrate(
        _cases([0.05 + 0.04 * i for i in range(25)], []), target=0.9, default=0.5
    )

    assert calibration.threshold == LOWEST_THRESHOLD


def test_a_base_that_never_reaches_the_target_answers_only_its_surest_records() -> None:
    scored = _cases([0.2 + 0.03 * i for i in range(20)], [0.95] * 10)

    calibration = calibrate(scored, target=0.9, default=0.5)

    assert calibration.threshold == HIGHEST_THRESHOLD
    assert calibration.precision == 0.0
