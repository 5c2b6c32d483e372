"""Build the real-users evaluation set: RUTUBE's support FAQ and questions its users asked.

The data is the RUTUBE case of the «Цифровой прорыв. Сезон: ИИ» hackathon (2024): a knowledge
base of 326 FAQ entries (`01_База_знаний.xlsx`) and 802 real users' questions, each linked by
RUTUBE's support staff to the entry that answers it (`02_Реальные_кейсы.xlsx`). It carries no
licence, so it is not in this repository; it is published in participants' repositories, e.g.
https://github.com/kostopr4v/RUTUBE_RAG_CP2024 (commit 4501904, folder `data/`). Nothing is
fitted on it: it is the unseen base the README reports.

    .venv/bin/python bench/real_users_set.py --source RUTUBE_RAG_CP2024/data --out /tmp/rutube
    .venv/bin/talkme-consultant eval answers /tmp/rutube/answers.jsonl \\
        --knowledge-dir /tmp/rutube/knowledge --profile bench/data/rutube_profile.yaml

The knowledge base keeps one row per distinct answer (the first FAQ question with it); a user's
question becomes a case expecting a 30-60 character piece of its answer that no other entry
holds (answers without such a piece, questions equal to an FAQ question, and repeated questions
are left out), 400 of them spread evenly over the rest.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

from openpyxl import load_workbook

KB_FILE = "01_База_знаний.xlsx"
CASES_FILE = "02_Реальные_кейсы.xlsx"
CASES = 400
PIECE_MIN, PIECE_MAX, PIECE_AIM = 30, 60, 45


def _rows(path: Path) -> list[dict[str, str]]:
    sheet = load_workbook(path, read_only=True).worksheets[0]
    rows = [
        [str(v) if v is not None else "" for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    header = rows[0]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def _norm(text: str) -> str:
    return " ".join(text.split())


def _fold(text: str) -> str:
    return _norm(text).lower().replace("ё", "е")


def _piece(answer: str, others: list[str]) -> str | None:
    """The earliest word-aligned piece of one line of `answer` that no other entry holds."""
    starts = [0] + [m.end() for m in re.finditer(r"\s+", answer)]
    for aim in (PIECE_AIM, PIECE_MAX):
        for start in starts:
            end = answer.find("\n", start)
            line = answer[start : len(answer) if end < 0 else end]
            cut = line[:aim]
            if len(line) > aim and cut.rfind(" ") >= PIECE_MIN:
                cut = cut[: cut.rfind(" ")]
            cut = cut.strip()
            fits = PIECE_MIN <= len(cut) <= PIECE_MAX and "  " not in cut
            if fits and not any(_fold(cut) in other for other in others):
                return cut
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="the folder with both .xlsx")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    entries: list[tuple[str, str]] = []
    by_answer: dict[str, int] = {}
    by_question: dict[str, set[int]] = {}
    for row in _rows(args.source / KB_FILE):
        question, answer = row["Вопрос из БЗ"].strip(), row["Ответ из БЗ"].strip()
        if not answer:
            continue
        first = by_answer.setdefault(_norm(answer), len(entries))
        if first == len(entries):
            entries.append((question or row["Тема"].strip(), answer))
        by_question.setdefault(_fold(question), set()).add(first)
    folded = [_fold(f"{q} {a}") for q, a in entries]
    pieces = {
        i: piece
        for i, (_, answer) in enumerate(entries)
        if (piece := _piece(answer, folded[:i] + folded[i + 1 :])) is not None
    }
    cases: list[dict[str, object]] = []
    seen: set[str] = set()
    for row in _rows(args.source / CASES_FILE):
        asked = row["Вопрос пользователя"].strip()
        index: int | None = by_answer.get(_norm(row["Ответ из БЗ"]))
        if index is None and len(named := by_question.get(_fold(row["Вопрос из БЗ"]), set())) == 1:
            index = next(iter(named))
        key = _fold(asked)
        if not asked or index is None or index not in pieces or key in seen:
            continue
        if key in by_question and index in by_question[key]:
            continue  # the FAQ's own wording, not a user's
        seen.add(key)
        cases.append({"question": asked, "expect_any": [pieces[index]]})
    chosen = [cases[i * len(cases) // CASES] for i in range(CASES)] if len(cases) > CASES else cases
    (args.out / "knowledge").mkdir(parents=True, exist_ok=True)
    with (args.out / "knowledge" / "faq.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Вопрос", "Ответ"])
        writer.writerows(entries)
    lines = [json.dumps(case, ensure_ascii=False) for case in chosen]
    (args.out / "answers.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(entries)} entries, {len(cases)} usable questions, {len(chosen)} written")


if __name__ == "__main__":
    main()
