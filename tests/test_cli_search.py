"""`talkme-consultant kb search --json` through the real command: the bot's own retrieval, one
JSON array per question, with each hit's confidence and the question's words it never speaks of,
so an owner can see why a question was handed over."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from tests.support.processes import CLI


def search(data_dir: Path, *questions: str) -> list[list[dict[str, object]]]:
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "KNOWLEDGE_DIR": str(SAMPLE_KNOWLEDGE_DIR),
        "ADMIN_TOKEN": "unused-admin-token-24-chars",
    }
    done = subprocess.run(
        [str(CLI), "kb", "search", "--json", "--k", "3"],
        input="\n".join(questions) + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_each_question_gets_its_hits_with_the_words_they_do_not_speak_of(data_dir: Path) -> None:
    wifi, hair = search(data_dir, "вай фай есть у вас?", "наращивание волос сколько стоит")

    assert "Wi-Fi" in str(wifi[0]["text"])
    assert wifi[0]["missing"] == []
    assert len(hair) == 3
    assert all("волос" in hit["missing"] for hit in hair if "Наращивание" in str(hit["text"]))
    assert all(isinstance(hit["confidence"], float) for hit in hair)
