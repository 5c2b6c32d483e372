"""`talkme-consultant chat` talks to the same engine and remembers the dialogue between lines."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from talkme_consultant.cli import app


def test_chat_answers_in_the_terminal_and_remembers_a_clarifying_question(data_dir: Path) -> None:
    lines = ["Здравствуйте! Где вы находитесь?", "а сколько коррекция стоит", "2", "/exit"]
    result = CliRunner().invoke(
        app,
        ["chat"],
        input="\n".join(lines) + "\n",
        env={"DATA_DIR": str(data_dir), "OPENAI_API_KEY": ""},
    )

    assert result.exit_code == 0, result.output
    said = result.output
    assert "Малый Вересковый переулок" in said and "Верхняя Кленовая" in said
    assert "Уточните, пожалуйста, что вас интересует" in said
    # «2» is read as the second option of the question just asked, not as a new question.
    assert "Коррекция бровей" in said.split("Напишите номер варианта")[-1]
