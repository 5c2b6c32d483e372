"""The shipped sample knowledge base and profile are well-formed and consistent.

These checks split the knowledge base into records on their own (openpyxl / csv / re), so they do
not depend on the real knowledge loaders: a spreadsheet or CSV row becomes "Column: value" lines,
a markdown file becomes one record per `#`/`##` section (heading included).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, SAMPLE_PROFILE_PATH

PRICES = SAMPLE_KNOWLEDGE_DIR / "prices.xlsx"
FAQ = SAMPLE_KNOWLEDGE_DIR / "faq.csv"
BRANCHES = SAMPLE_KNOWLEDGE_DIR / "branches.md"
ABOUT = SAMPLE_KNOWLEDGE_DIR / "about.md"
CASES = SAMPLE_KNOWLEDGE_DIR / "cases.jsonl"

SERVICE_HEADER = ["Категория", "Услуга", "Цена, руб.", "Длительность, мин", "Описание"]
REQUIRED_CATEGORIES = {
    "Маникюр",
    "Педикюр",
    "Стрижки",
    "Окрашивание",
    "Укладки",
    "Брови и ресницы",
    "Косметология",
    "Массаж",
    "SPA",
    "Депиляция",
}
MAX_CHUNK_CHARS = 1000
PHONE_RE = re.compile(r"\+7 \(\d{3}\) \d{3}-\d{2}-\d{2}")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _sheet_rows(ws: Any) -> list[list[str]]:
    """All rows as text, with every merged range filled with its top-left value."""
    grid = [[_cell_text(c) for c in row] for row in ws.iter_rows(values_only=True)]
    for rng in ws.merged_cells.ranges:
        value = _cell_text(ws.cell(row=rng.min_row, column=rng.min_col).value)
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                grid[r - 1][c - 1] = value
    return grid


def _header_index(rows: list[list[str]]) -> int:
    """The header is the first row with two different values (a merged title row has one)."""
    for i, row in enumerate(rows):
        if len({v for v in row if v}) >= 2:
            return i
    raise AssertionError("no header row")


def _row_record(header: list[str], row: list[str]) -> str:
    return "\n".join(f"{h}: {v}" for h, v in zip(header, row, strict=False) if h and v)


def _xlsx_records(path: Path) -> list[tuple[str, str]]:
    wb = openpyxl.load_workbook(path)
    records = []
    for ws in wb.worksheets:
        rows = _sheet_rows(ws)
        h = _header_index(rows)
        header = rows[h]
        for n, row in enumerate(rows[h + 1 :], start=h + 2):
            if any(row):
                records.append((f"{path.name}:{ws.title}:{n}", _row_record(header, row)))
    return records


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _csv_records(path: Path) -> list[tuple[str, str]]:
    header, rows = _csv_rows(path)
    return [
        (f"{path.name}:{n}", _row_record(header, [v.strip() for v in row]))
        for n, row in enumerate(rows, start=2)
    ]


def _md_sections(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(?=#{1,2}\s)", text)
    return [p.strip() for p in parts if p.strip()]


def _md_records(path: Path) -> list[tuple[str, str]]:
    return [(f"{path.name}:{s.splitlines()[0]}", s) for s in _md_sections(path)]


def _all_records() -> list[tuple[str, str]]:
    records: list[tuple[str, str]] = []
    for path in sorted(SAMPLE_KNOWLEDGE_DIR.iterdir()):
        if path.name == "cases.jsonl":
            continue
        if path.suffix == ".xlsx":
            records += _xlsx_records(path)
        elif path.suffix == ".csv":
            records += _csv_records(path)
        elif path.suffix == ".md":
            records += _md_records(path)
        else:
            raise AssertionError(f"unexpected file in the sample knowledge base: {path.name}")
    return records


def _cases() -> list[dict[str, str]]:
    lines = CASES.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _profile() -> dict[str, Any]:
    data = yaml.safe_load(SAMPLE_PROFILE_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _branch_section(md_sections: list[str], branch_name: str) -> str:
    matches = [s for s in md_sections if s.splitlines()[0].lstrip("# ").strip() == branch_name]
    assert len(matches) == 1, f"no single section titled {branch_name!r} in branches.md"
    return matches[0]


def _services() -> dict[str, list[str]]:
    rows = _sheet_rows(openpyxl.load_workbook(PRICES)["Услуги"])
    h = _header_index(rows)
    return {row[1]: row for row in rows[h + 1 :] if any(row)}


# --- prices.xlsx ---------------------------------------------------------------------------------


def test_price_list_layout_and_services() -> None:
    wb = openpyxl.load_workbook(PRICES)
    assert wb.sheetnames == ["Услуги", "Абонементы и акции"]
    ws = wb["Услуги"]
    assert "Прайс-лист" in _cell_text(ws["A1"].value)
    header = [_cell_text(c.value) for c in ws[2]]
    assert header == SERVICE_HEADER

    services = []
    for row in ws.iter_rows(min_row=3):
        _category, name, price, minutes, description = (c.value for c in row[:5])
        if name is None:
            continue
        services.append(name)
        assert isinstance(price, int | float) and not isinstance(price, bool), name
        assert 100 <= price <= 50_000, name
        assert isinstance(minutes, int) and 5 <= minutes <= 300, name
        assert description and len(str(description)) >= 20, name
    assert len(services) >= 45
    assert len(set(services)) == len(services), "duplicate service names"

    categories = {row[0] for row in _services().values()}
    assert categories >= REQUIRED_CATEGORIES
    assert all(categories), "a service row has no category after filling merged cells"


def test_price_list_has_merged_category_cells() -> None:
    ws = openpyxl.load_workbook(PRICES)["Услуги"]
    category_merges = [
        r for r in ws.merged_cells.ranges if r.min_col == r.max_col == 1 and r.max_row > r.min_row
    ]
    assert len(category_merges) >= 5
    for rng in category_merges:
        assert ws.cell(row=rng.min_row, column=1).value, "merged category cell is empty"


def test_offers_sheet() -> None:
    rows = _sheet_rows(openpyxl.load_workbook(PRICES)["Абонементы и акции"])
    assert rows[0] == ["Название", "Цена, руб.", "Условия"]
    offers = [r for r in rows[1:] if any(r)]
    assert len(offers) >= 6
    assert all(r[0] and r[1] and len(r[2]) >= 20 for r in offers)


# --- faq.csv -------------------------------------------------------------------------------------


def test_faq() -> None:
    raw = FAQ.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "faq.csv should be plain UTF-8 without BOM"
    header, rows = _csv_rows(FAQ)
    assert header == ["Вопрос", "Ответ"]
    assert len(rows) >= 30
    for row in rows:
        assert len(row) == 2, row
        question, answer = (v.strip() for v in row)
        assert question.endswith("?"), question
        assert len(answer) >= 60, question
    questions = [r[0] for r in rows]
    assert len(set(questions)) == len(questions), "duplicate FAQ questions"


# --- markdown ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [BRANCHES, ABOUT], ids=lambda p: p.name)
def test_markdown_sections(path: Path) -> None:
    sections = _md_sections(path)
    assert sections[0].startswith("# "), "the document starts with a title heading"
    assert sum(s.startswith("## ") for s in sections) >= 4
    for section in sections:
        assert len(section) <= MAX_CHUNK_CHARS, f"{section.splitlines()[0]} is too long for a chunk"
        assert len(section.splitlines()) >= 3, f"{section.splitlines()[0]} has no body"
    assert "###" not in path.read_text(encoding="utf-8"), "only # and ## headings are used"


# --- cases.jsonl ---------------------------------------------------------------------------------


def test_cases_shape_and_mix() -> None:
    cases = _cases()
    assert len(cases) >= 70
    for case in cases:
        assert set(case) == {"question", "expected"}, case
        assert case["question"].strip() and case["expected"].strip(), case
    questions = [c["question"] for c in cases]
    assert len(set(questions)) == len(questions), "duplicate questions"

    kinds: Counter[str] = Counter()
    records = _all_records()
    for case in cases:
        needle = case["expected"].casefold()
        where = [rid for rid, text in records if needle in text.casefold()]
        if where:
            kinds[where[0].split(":")[0]] += 1
    assert kinds["prices.xlsx"] >= 0.3 * len(cases)
    assert kinds["faq.csv"] >= 0.25 * len(cases)
    assert kinds["branches.md"] >= 0.1 * len(cases)
    assert kinds["about.md"] >= 0.05 * len(cases)


def test_each_expected_is_in_exactly_one_record() -> None:
    records = _all_records()
    problems = []
    for case in _cases():
        needle = case["expected"].casefold()
        where = [rid for rid, text in records if needle in text.casefold()]
        if len(where) != 1:
            problems.append(f"{case['expected']!r}: {where}")
    assert not problems, "\n".join(problems)


def test_every_service_name_is_in_exactly_one_record() -> None:
    """So any service can be used as a case's `expected` without matching a second record."""
    records = _all_records()
    problems = []
    for name in _services():
        where = [rid for rid, text in records if name.casefold() in text.casefold()]
        if len(where) != 1:
            problems.append(f"{name!r}: {where}")
    assert not problems, "\n".join(problems)


def test_price_cases_name_a_service_exactly() -> None:
    services = _services()
    price_rows = {text for rid, text in _xlsx_records(PRICES) if ":Услуги:" in rid}
    for case in _cases():
        if any(case["expected"].casefold() in text.casefold() for text in price_rows):
            assert case["expected"] in services, f"{case['expected']!r} is not a whole service name"


# --- profile.yaml --------------------------------------------------------------------------------


def test_profile_structure() -> None:
    profile = _profile()
    for key in ("name", "short_name", "description", "language"):
        assert isinstance(profile[key], str) and profile[key].strip(), key
    assert profile["tone"]["address_form"] == "вы"
    assert isinstance(profile["tone"]["max_sentences"], int)
    assert len(profile["must_not"]) >= 3
    assert all(isinstance(s, str) and s for s in profile["must_not"])
    booking = profile["booking"]
    assert booking["instructions"] and booking["callback_time"]
    assert all(isinstance(s, str) for s in booking["ask_for"])
    assert len(profile["handoff"]["triggers"]) >= 4
    messages = profile["messages"]
    assert set(messages) == {
        "greeting",
        "thanks",
        "goodbye",
        "handoff",
        "unknown",
        "attachment",
        "off_topic",
        "booking",
        "lead_accepted",
    }
    for key, text in messages.items():
        assert isinstance(text, str) and text.strip(), key
    assert len(profile["branches"]) == 2
    ids = [b["id"] for b in profile["branches"]]
    assert len(set(ids)) == len(ids)


def test_profile_matches_branches_md() -> None:
    profile = _profile()
    text = BRANCHES.read_text(encoding="utf-8")
    sections = _md_sections(BRANCHES)
    for branch in profile["branches"]:
        section = _branch_section(sections, branch["name"])
        assert branch["address"] in section
        assert branch["phone"] in section
        for station in branch["metro"]:
            assert f"«{station}»" in section
        hours = branch["hours"]
        assert set(hours) == {"weekdays", "saturday", "sunday"}
        assert f"понедельник — пятница: {hours['weekdays']}" in section
        assert f"суббота: {hours['saturday']}" in section
        assert f"воскресенье: {hours['sunday']}" in section
    contacts = profile["contacts"]
    for key in ("email", "website", "telegram", "whatsapp"):
        assert contacts[key] in text, key
    assert contacts["messengers_hours"].split("ежедневно ")[-1] in text


def test_phone_numbers_are_consistent_everywhere() -> None:
    profile = _profile()
    known = {b["phone"] for b in profile["branches"]} | {profile["contacts"]["whatsapp"]}
    texts = [text for _, text in _all_records()]
    texts.append(SAMPLE_PROFILE_PATH.read_text(encoding="utf-8"))
    found = {phone for text in texts for phone in PHONE_RE.findall(text)}
    assert found == known


def test_facts_repeated_in_prose_match_the_price_list() -> None:
    """Prices and figures that FAQ answers repeat agree with the spreadsheet."""
    services = _services()
    answers = {q: a for q, a in _csv_rows(FAQ)[1]}

    def price(name: str) -> str:
        return services[name][2]

    assert (
        f"стоит {price('Детская стрижка (до 12 лет)')} рублей"
        in answers["Стрижёте ли вы детей? С какого возраста?"]
    )
    assert (
        f"стоит {price('Снятие гель-лака')} рублей"
        in answers["Можно ли снять у вас покрытие, сделанное в другом салоне?"]
    )
    offers = {r[0]: r for r in _sheet_rows(openpyxl.load_workbook(PRICES)["Абонементы и акции"])}
    assert "15%" in offers["Скидка в день рождения"][1]
    assert "скидку 15%" in answers["Есть ли скидка в день рождения?"]
    assert offers["Абонемент «5 маникюров с покрытием»"][1] == str(
        round(int(price("Маникюр с покрытием гель-лак")) * 5 * 0.9)
    )
    assert offers["Абонемент на 10 сеансов массажа спины"][1] == str(
        round(int(price("Массаж спины")) * 10 * 0.9)
    )
    assert offers["Абонемент на 8 сеансов антицеллюлитного массажа"][1] == str(
        round(int(price("Антицеллюлитный массаж")) * 8 * 0.85)
    )
