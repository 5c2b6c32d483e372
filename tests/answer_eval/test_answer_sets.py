"""The shipped answer case sets, run through the real engine, stay above their floors.

The floors sit a little below today's figures: the answerer is being improved, and the floors
only catch a change that makes the bot answer clearly worse.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from talkme_consultant.cli import app
from talkme_consultant.config import SAMPLE_DIR, Settings
from talkme_consultant.service.answer_eval import evaluate_answers, load_answer_cases
from talkme_consultant.service.runtime import Runtime

CLINIC = Path(__file__).parent / "clinic"
SHOP = Path(__file__).parent / "shop"
SALON_CASES = SAMPLE_DIR / "answers.jsonl"
UNANSWERABLE_SALON = Path(__file__).parent / "salon" / "unanswerable_check.jsonl"
# Dialogues whose later messages lean on the first: tuned on, and held out.
FOLLOWUPS = "followups.jsonl"
FOLLOWUPS_CHECK = "followups_check.jsonl"

# Measured with the offline answerer: salon 77 of 84 right (4 wrong), clinic 40 of 45 right
# (1 wrong), shop 130 of 246 right (11 wrong: 0.92 of its answers right, 0.57 of questions
# answered; 134 and 11 before an FAQ question's own cosine counted, which raised real users'
# questions on RUTUBE's FAQ from 149 to 168 right and lowered the wrong from 52 to 39; 144 and
# 17 before the confidence model learnt questions no record answers). On an AMD EPYC, whose
# rounding moves the local embeddings a little, the same code read 74 / 5, 41 / 1 and 130 / 10,
# and the salon 75 / 5 once a list asked for came from a weaker best row. The floors sit a
# little below, so an improvement elsewhere is never blocked.
SALON_RIGHT_FLOOR = 0.82
CLINIC_RIGHT_FLOOR = 0.86
SHOP_RIGHT_FLOOR = 0.51
# Of the salon's unanswerable check questions, 30 of 32 are handed over or named as missing.
SALON_HONEST_FLOOR = 0.84
# A wrong answer is worse than a handoff: these ceilings catch a bot that starts guessing.
SALON_WRONG_CEILING = 0.08
CLINIC_WRONG_CEILING = 0.07
SHOP_WRONG_CEILING = 0.06
# Of the shop questions the bot answers itself, at least this share must be right.
SHOP_ANSWER_PRECISION_FLOOR = 0.9
# Follow-up dialogues on the salon, offline: 67 of 67 tuned on right, 12 of 12 held out (10 of 12
# before another zone or variant took the old one's place, 2 of 12 before the dialogue kept its
# topic).
SALON_FOLLOWUPS_FLOOR = 0.9
SALON_FOLLOWUPS_CHECK_FLOOR = 0.9


def _offline_env(tmp_path: Path) -> dict[str, str]:
    return {"OPENAI_API_KEY": "", "DATA_DIR": str(tmp_path / "owner-data")}


def test_the_salon_set_covers_what_visitors_ask() -> None:
    cases = load_answer_cases(SALON_CASES)
    assert len(cases) >= 60
    assert sum(case.expect == "handoff" for case in cases) >= 8
    assert any(case.turns for case in cases)


async def test_the_salon_sample_answers_its_visitor_questions(data_dir: Path) -> None:
    cases = load_answer_cases(SALON_CASES)
    unanswerable = load_answer_cases(UNANSWERABLE_SALON)
    runtime = await Runtime.open(
        Settings(data_dir=data_dir, admin_token="unused-admin-token-24-chars", openai_api_key=None)
    )
    try:
        report = await evaluate_answers(runtime.engine, cases)
        honesty = await evaluate_answers(runtime.engine, unanswerable)
    finally:
        await runtime.close()

    assert report.total == len(cases)
    assert report.share("right") >= SALON_RIGHT_FLOOR, report.summary()
    assert report.share("wrong") <= SALON_WRONG_CEILING, report.summary()
    # Questions on the salon's topic that its knowledge does not answer (never fitted on).
    assert all(case.expect == "no_answer" for case in unanswerable)
    assert honesty.share("honest") >= SALON_HONEST_FLOOR, honesty.summary()


def test_the_follow_up_sets_hold_dialogues_on_three_bases() -> None:
    sets = {
        base: [
            *load_answer_cases(Path(__file__).parent / base / FOLLOWUPS),
            *load_answer_cases(Path(__file__).parent / base / FOLLOWUPS_CHECK),
        ]
        for base in ("salon", "clinic", "shop")
    }
    assert sum(len(cases) for cases in sets.values()) >= 60
    assert all(len(case.visitor_turns) >= 2 for cases in sets.values() for case in cases)
    assert len(load_answer_cases(Path(__file__).parent / "salon" / FOLLOWUPS_CHECK)) >= 12


async def test_the_salon_answers_follow_up_questions_from_the_dialogues_topic(
    data_dir: Path,
) -> None:
    tuned = load_answer_cases(Path(__file__).parent / "salon" / FOLLOWUPS)
    held_out = load_answer_cases(Path(__file__).parent / "salon" / FOLLOWUPS_CHECK)
    runtime = await Runtime.open(
        Settings(data_dir=data_dir, admin_token="unused-admin-token-24-chars", openai_api_key=None)
    )
    try:
        report = await evaluate_answers(runtime.engine, tuned)
        check = await evaluate_answers(runtime.engine, held_out)
    finally:
        await runtime.close()

    assert report.share("right") >= SALON_FOLLOWUPS_FLOOR, report.summary()
    assert check.share("right") >= SALON_FOLLOWUPS_CHECK_FLOOR, check.summary()


def test_the_clinic_base_is_evaluated_from_the_command_line_in_a_temporary_store(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "answers",
            str(CLINIC / "answers.jsonl"),
            "--knowledge-dir",
            str(CLINIC / "knowledge"),
            "--profile",
            str(CLINIC / "profile.yaml"),
            "--json",
        ],
        env=_offline_env(tmp_path),
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["total"] == len(load_answer_cases(CLINIC / "answers.jsonl")) >= 30
    assert sum(report["counts"].values()) == report["total"]
    assert report["counts"]["right"] / report["total"] >= CLINIC_RIGHT_FLOOR, report["counts"]
    assert report["counts"]["wrong"] / report["total"] <= CLINIC_WRONG_CEILING, report["counts"]
    assert {"question", "expected", "got", "verdict"} <= set(report["misses"][0])
    # The owner's store was not touched: the other base went to a temporary DATA_DIR.
    assert not (tmp_path / "owner-data").exists()


def test_a_floor_above_the_measured_share_fails_the_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "answers",
            str(CLINIC / "answers.jsonl"),
            "--knowledge-dir",
            str(CLINIC / "knowledge"),
            "--profile",
            str(CLINIC / "profile.yaml"),
            "--floor",
            "100",
        ],
        env=_offline_env(tmp_path),
    )

    assert result.exit_code == 1
    assert result.stdout.startswith("45 cases: right ")
    assert "is below the floor 100%" in result.stdout
    # Each miss is printed with the question, what was expected and what came back.
    assert "\n    expected: " in result.stdout
    assert "\n    got (" in result.stdout


def test_a_malformed_case_file_is_named_with_its_line_and_nothing_runs(tmp_path: Path) -> None:
    cases = tmp_path / "answers.jsonl"
    cases.write_text(
        '{"question": "где вы", "expect_any": ["Тверская"]}\n'
        '{"question": "где вы", "expect": "maybe"}\n',
        encoding="utf-8",
    )

    result = CliRunner().invoke(app, ["eval", "answers", str(cases)], env=_offline_env(tmp_path))

    assert result.exit_code == 2
    assert "answers.jsonl, line 2: expect: Input should be 'handoff', 'clarify' or 'no_answer'" in (
        result.stderr
    )
    assert not (tmp_path / "owner-data").exists()


def test_the_shop_support_base_answers_mostly_right_and_hands_over_the_rest(
    tmp_path: Path,
) -> None:
    """An electronics shop's support FAQ (117 entries, 246 messy questions), never tuned on."""
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "answers",
            str(SHOP / "answers.jsonl"),
            "--knowledge-dir",
            str(SHOP / "knowledge"),
            "--profile",
            str(SHOP / "profile.yaml"),
            "--json",
        ],
        env=_offline_env(tmp_path),
    )

    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["counts"]
    total = sum(counts.values())
    assert total == len(load_answer_cases(SHOP / "answers.jsonl")) >= 200
    assert counts["right"] / total >= SHOP_RIGHT_FLOOR, counts
    assert counts["wrong"] / total <= SHOP_WRONG_CEILING, counts
    assert counts["right"] / (counts["right"] + counts["wrong"]) >= SHOP_ANSWER_PRECISION_FLOOR
