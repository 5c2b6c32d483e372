"""`talkme-consultant kb teach FILE.jsonl` through the real command: each line teaches one
visitor's wording to a record, named by id or by a text it contains; a bad line is reported by
number and changes nothing, the good lines are kept."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.service.runtime import Runtime
from tests.support.processes import CLI

PAYMENT = "Можно ли оплатить картой?"
BITCOIN = "принимаете биткоин?"
LASHES = "реснички нарастить почём"


def settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        knowledge_dir=SAMPLE_KNOWLEDGE_DIR,
        admin_token="unused-admin-token-24-chars",
    )


async def payment_record_id(data_dir: Path) -> str:
    runtime = await Runtime.open(settings(data_dir))
    try:
        [hit] = await runtime.knowledge.search(PAYMENT, 1)
        return hit.record_id
    finally:
        await runtime.close()


async def taught(data_dir: Path) -> tuple[list[tuple[str, str]], str]:
    """The taught (record id, wording) pairs, and the record found first for BITCOIN."""
    runtime = await Runtime.open(settings(data_dir))
    try:
        phrasings = await runtime.store.lessons.list_phrasings()
        [hit] = await runtime.knowledge.search(BITCOIN, 1)
        return [(p.record_id, p.text) for p in phrasings], hit.record_id
    finally:
        await runtime.close()


def teach(data_dir: Path, lessons: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "KNOWLEDGE_DIR": str(SAMPLE_KNOWLEDGE_DIR),
        "ADMIN_TOKEN": "unused-admin-token-24-chars",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(CLI), "kb", "teach", str(lessons)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_good_lines_are_taught_and_each_bad_line_is_named(data_dir: Path, tmp_path: Path) -> None:
    record_id = asyncio.run(payment_record_id(data_dir))
    lessons = tmp_path / "lessons.jsonl"
    lines = [
        json.dumps({"question": BITCOIN, "record_id": record_id}, ensure_ascii=False),
        json.dumps(
            {"question": LASHES, "expected": "Наращивание ресниц (классика)"}, ensure_ascii=False
        ),
        "",
        "{not json",
        json.dumps({"question": "двое", "record_id": record_id, "expected": "x"}),
        json.dumps({"question": "нет такой", "record_id": "0000000000000000"}),
        json.dumps({"question": "нет текста", "expected": "такого текста нигде нет"}),
        json.dumps({"record_id": record_id}),
    ]
    lessons.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = teach(data_dir, lessons)

    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert f"line 1: taught to record {record_id}" in out
    assert "line 2: taught to record" in out
    assert "line 3" not in out, "blank lines are skipped"
    assert "line 4: not a JSON object" in out
    assert 'line 5: give exactly one of "record_id" and "expected"' in " ".join(out.split())
    assert "line 6: no record with id '0000000000000000'" in out
    assert "line 7: no record contains 'такого текста нигде нет'" in out
    assert "line 8: question: Field required" in out
    assert "2 taught, 5 refused" in out

    phrasings, first = asyncio.run(taught(data_dir))
    assert [text for _, text in phrasings] == [BITCOIN, LASHES], "bad lines changed nothing"
    assert phrasings[0][0] == record_id
    assert first == record_id, "the taught wording finds its record first"


def test_a_missing_file_is_refused(data_dir: Path, tmp_path: Path) -> None:
    result = teach(data_dir, tmp_path / "absent.jsonl")
    assert result.returncode == 2
    assert "absent.jsonl: no such file" in result.stdout
