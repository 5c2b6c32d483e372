"""Records that disagree: found when the index is built, the newest kept, the older a rival."""

from __future__ import annotations

from talkme_consultant.knowledge.conflicts import find_conflicts, record_facts, subject_key
from talkme_consultant.knowledge.loaders.tables import Grid, grid_records
from talkme_consultant.knowledge.records import Record
from talkme_consultant.store.owner_records import owner_faq_record


def price_list(file: str, *rows: list[str]) -> list[Record]:
    """Records read from a price list with a header row, as the loaders read an .xlsx."""
    grid = Grid(rows=list(enumerate(rows, start=1)))
    return grid_records(grid, file, sheet="Услуги")


def faq(file: str, question: str, answer: str) -> list[Record]:
    return grid_records(Grid(rows=[(1, ["Вопрос", "Ответ"]), (2, [question, answer])]), file)


def times(files: dict[str, float], records: list[Record]) -> dict[str, float]:
    """Every record's time: its file's, or for an owner's answer the one given under its id."""
    return {
        r.record_id: files[f"faq:{r.source.row}" if r.by_owner else r.source.file] for r in records
    }


OLD_PRICES = price_list(
    "prices.xlsx",
    ["Категория", "Услуга", "Цена, руб.", "Длительность, мин"],
    ["Окрашивание", "Камуфляж седины для мужчин", "1800", "30"],
    ["Маникюр", "Маникюр", "1500", "60"],
    ["Маникюр", "Маникюр с покрытием", "2500", "90"],
)


def test_the_same_service_at_another_price_in_a_newer_file_wins() -> None:
    new = price_list(
        "new-prices.csv", ["Услуга", "Стоимость"], ["камуфляж  седины для мужчин", "1 500"]
    )
    records = OLD_PRICES + new

    conflicts = find_conflicts(records, times({"prices.xlsx": 100, "new-prices.csv": 200}, records))

    [conflict] = conflicts.items
    assert conflict.used.record.source.file == "new-prices.csv"
    assert [v.record.source.file for v in conflict.older] == ["prices.xlsx"]
    assert conflict.kinds == ("price",)
    assert conflict.used.value(conflict.kinds) == "1 500 ₽"
    assert conflict.older[0].value(conflict.kinds) == "1 800 ₽"
    assert conflicts.superseded == {OLD_PRICES[0].record_id}
    assert conflicts.of(new[0].record_id) is conflict


def test_the_older_file_wins_when_it_was_uploaded_last() -> None:
    new = price_list("new-prices.csv", ["Услуга", "Цена"], ["Камуфляж седины для мужчин", "1500"])
    records = OLD_PRICES + new

    conflicts = find_conflicts(records, times({"prices.xlsx": 300, "new-prices.csv": 200}, records))

    assert conflicts.superseded == {new[0].record_id}


def test_another_duration_is_a_disagreement_too() -> None:
    new = price_list(
        "spring.xlsx",
        ["Услуга", "Цена, руб.", "Длительность, ч"],
        ["Маникюр с покрытием", "2500", "2"],
    )
    records = OLD_PRICES + new

    [conflict] = find_conflicts(records, times({"prices.xlsx": 1, "spring.xlsx": 2}, records)).items

    assert conflict.kinds == ("duration",)
    assert (conflict.used.value(conflict.kinds), conflict.older[0].value(conflict.kinds)) == (
        "120 мин",
        "90 мин",
    )


def test_the_same_figures_written_otherwise_are_no_conflict() -> None:
    new = price_list(
        "copy.csv",
        ["Услуга", "Цена", "Длительность"],
        ["Маникюр", "1 500 руб.", "1 час"],
    )
    records = OLD_PRICES + new

    assert not find_conflicts(records, times({"prices.xlsx": 1, "copy.csv": 2}, records)).items


def test_a_service_with_a_longer_name_is_another_service() -> None:
    new = price_list("new.csv", ["Услуга", "Цена"], ["Маникюр с покрытием гель-лак", "3100"])
    records = OLD_PRICES + new

    assert not find_conflicts(records, times({"prices.xlsx": 1, "new.csv": 2}, records)).items


def test_manicure_and_manicure_with_coating_never_rival_each_other() -> None:
    new = price_list("new.csv", ["Услуга", "Цена"], ["Маникюр с покрытием", "2500"])
    records = OLD_PRICES + new

    assert not find_conflicts(records, times({"prices.xlsx": 1, "new.csv": 2}, records)).items


def test_rows_of_one_file_never_rival_each_other() -> None:
    records = price_list(
        "prices.xlsx",
        ["Категория", "Услуга", "Цена"],
        ["Мужской зал", "Стрижка", "1500"],
        ["Женский зал", "Стрижка", "2500"],
        ["", "Стрижка", "1800"],
    )

    assert not find_conflicts(records, times({"prices.xlsx": 1}, records)).items


def test_one_name_in_two_named_categories_is_two_services() -> None:
    new = price_list(
        "women.csv", ["Категория", "Услуга", "Цена"], ["Женский зал", "Маникюр", "1900"]
    )
    records = OLD_PRICES + new

    assert not find_conflicts(records, times({"prices.xlsx": 1, "women.csv": 2}, records)).items


def test_the_same_question_with_other_hours_is_a_conflict() -> None:
    old = faq("faq.csv", "Во сколько вы открываетесь?", "Работаем ежедневно с 10:00 до 21:00.")
    new = faq("faq-2025.docx", "Во сколько вы открываетесь", "Каждый день с 9 до 21.")
    records = old + new

    [conflict] = find_conflicts(records, times({"faq.csv": 1, "faq-2025.docx": 2}, records)).items

    assert conflict.kinds == ("hours",)
    assert conflict.used.value(conflict.kinds) == "09:00–21:00"
    assert conflict.older[0].value(conflict.kinds) == "10:00–21:00"


def test_an_owners_newer_answer_outranks_a_file() -> None:
    old = faq("faq.csv", "Сколько стоит коррекция бровей?", "Коррекция бровей стоит 900 ₽.")
    mine = owner_faq_record(7, "сколько стоит коррекция бровей?", "1 100 рублей, около 20 минут")
    records = [*old, mine]

    conflicts = find_conflicts(records, times({"faq.csv": 1, "faq:7": 5}, records))

    [conflict] = conflicts.items
    assert conflict.used.record.by_owner
    assert conflicts.superseded == {old[0].record_id}


def test_a_file_uploaded_after_the_owners_answer_outranks_it() -> None:
    mine = owner_faq_record(7, "Сколько стоит коррекция бровей?", "900 ₽")
    new = faq("faq.csv", "Сколько стоит коррекция бровей?", "Коррекция бровей стоит 1 100 ₽.")
    records = [mine, *new]

    conflicts = find_conflicts(records, times({"faq:7": 1, "faq.csv": 5}, records))

    assert conflicts.superseded == {mine.record_id}


def test_a_record_agreeing_with_the_newest_is_no_rival() -> None:
    first = faq("a.csv", "Сколько стоит стрижка?", "1 500 ₽")
    second = faq("b.csv", "Сколько стоит стрижка?", "1 800 ₽")
    third = faq("c.csv", "Сколько стоит стрижка?", "Стрижка — 1500 руб.")
    records = first + second + third

    conflicts = find_conflicts(records, times({"a.csv": 1, "b.csv": 2, "c.csv": 3}, records))

    assert conflicts.superseded == {second[0].record_id}


def test_questions_without_figures_never_conflict() -> None:
    old = faq("a.csv", "Можно с собакой?", "Нет, к сожалению.")
    new = faq("b.csv", "Можно с собакой?", "Да, маленькую можно.")
    records = old + new

    assert not find_conflicts(records, times({"a.csv": 1, "b.csv": 2}, records)).items


def test_percentages_and_phone_numbers_are_not_prices() -> None:
    [record] = faq(
        "faq.csv",
        "Есть ли скидки?",
        "Скидка 15% именинникам, звоните +7 (495) 000-12-34, по будням с 10 до 18.",
    )

    assert record_facts(record) == {"hours": frozenset({"10:00", "18:00"})}


def test_titles_compare_without_case_spacing_or_punctuation() -> None:
    assert subject_key("Камуфляж  седины для Мужчин.") == subject_key("камуфляж седины для мужчин")


def test_a_record_that_lost_is_nobodys_winner() -> None:
    men = price_list("men.csv", ["Категория", "Услуга", "Цена"], ["Мужской зал", "Стрижка", "1500"])
    plain = price_list("plain.csv", ["Услуга", "Цена"], ["Стрижка", "1700"])
    women = price_list(
        "women.csv", ["Категория", "Услуга", "Цена"], ["Женский зал", "Стрижка", "2500"]
    )
    records = men + plain + women

    conflicts = find_conflicts(
        records, times({"men.csv": 3, "plain.csv": 2, "women.csv": 1}, records)
    )

    [conflict] = conflicts.items
    assert conflict.used.record.source.file == "men.csv"
    assert conflicts.superseded == {plain[0].record_id}
