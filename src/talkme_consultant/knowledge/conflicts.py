"""Records that disagree: the same service or question with another price, duration or hours.

An owner uploads a new price list and the old one stays: both say what «Камуфляж седины для
мужчин» costs, and they say different things. Two records speak of the same thing when they
have the same title (a service name or an FAQ question, compared in folded case and spacing)
and come from different sources (two files, or a file and the owner's answer; rows of one file
never rival each other — a price list may name «Стрижка» under men's and women's sections).
They disagree when both give a figure of one kind and the figures differ. The newest source
wins: the older record is a rival, listed for the owner and left out of the served index.

Everything here is pure: the knowledge base calls `find_conflicts` when it builds its index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.text import normalize, words

Kind = Literal["price", "duration", "hours"]
KINDS: tuple[Kind, ...] = ("price", "duration", "hours")
Facts = Mapping[Kind, frozenset[str]]
"""A record's figures by kind: prices in roubles, durations in minutes, times of day as HH:MM."""

_NUMBER = r"\d{1,3}(?:[ \u00a0]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_BARE_NUMBER = re.compile(rf"(?<![\d:])({_NUMBER})(?![\d:])")
_PRICE_IN_TEXT = re.compile(rf"(?<![\d:])({_NUMBER})\s*(?:₽|руб\w*\.?|р\.|р(?!\w))")
_DURATION_IN_TEXT = re.compile(rf"(?<![\d:])({_NUMBER})\s*(мин\w*\.?|час\w*|ч\.|ч(?!\w))")
_TIME_OF_DAY = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
# «с 10 до 21»: the hours of a day written without minutes.
_FROM_TO = re.compile(r"(?<!\w)с\s+([01]?\d|2[0-3])\s+до\s+([01]?\d|2[0-4])(?![\d:])")
_PERCENT = re.compile(rf"(?:{_NUMBER})\s*%")
_PRICE_COLUMNS = ("цена", "стоимост", "прайс", "price", "cost", "тариф")
_DURATION_COLUMNS = ("длительн", "продолжительн", "duration")
# A category or section says which part of a price list a row is in: two rows that name
# different ones are different services even with one name («Стрижка» for men and for women).
_CATEGORY_COLUMNS = ("категор", "раздел", "группа", "category", "section")


@dataclass(frozen=True)
class Version:
    """One record's say on a subject: when its source last changed and the figures it gives."""

    record: Record
    updated_at: float
    facts: Facts

    @property
    def source_key(self) -> tuple[str, int | None]:
        """Which source the record is from: its file, or the owner's answer it is."""
        return (self.record.source.file, self.record.source.row if self.record.by_owner else None)

    def value(self, kinds: Sequence[Kind] = KINDS) -> str:
        """The record's figures of `kinds` as a person writes them: «1 800 ₽, 30 мин»."""
        return ", ".join(_say(kind, self.facts[kind]) for kind in kinds if kind in self.facts)


@dataclass(frozen=True)
class Conflict:
    """A subject the sources disagree on: the version the bot uses and the older rivals."""

    subject: str
    used: Version
    older: tuple[Version, ...]
    kinds: tuple[Kind, ...]
    """The kinds of figure the rivals differ on from the used version, in `KINDS` order."""


@dataclass(frozen=True)
class Conflicts:
    """Every disagreement found in one snapshot of the knowledge base."""

    items: tuple[Conflict, ...] = ()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def superseded(self) -> frozenset[str]:
        """Ids of the older rivals: records the bot must not answer with."""
        return frozenset(v.record.record_id for c in self.items for v in c.older)

    def of(self, record_id: str) -> Conflict | None:
        """The conflict this record won, if it has rivals."""
        return next((c for c in self.items if c.used.record.record_id == record_id), None)


def subject_key(title: str) -> str:
    """A title folded for comparison: case, ё, spacing and punctuation do not count."""
    return " ".join(words(normalize(title)))


def record_facts(record: Record) -> dict[Kind, frozenset[str]]:
    """The figures a table or FAQ row gives, by kind (empty for prose and figure-less rows).

    A bare number counts in a column named as a price («Цена, руб.») or a duration
    («Длительность, мин»); elsewhere only a number with its unit («1 500 ₽», «30 минут») or a
    time of day («10:00», «с 10 до 21») does. Percentages are never prices.
    """
    found: dict[Kind, set[str]] = {}
    for column, raw in record.fields.items():
        name = normalize(column)
        if raw == record.title or any(word in name for word in _CATEGORY_COLUMNS):
            continue
        value = _PERCENT.sub(" ", normalize(raw))
        prices = {_amount(m) for m in _PRICE_IN_TEXT.findall(value)}
        durations = {
            _minutes(number, 60.0 if unit.startswith("ч") else 1.0)
            for number, unit in _DURATION_IN_TEXT.findall(value)
        }
        # A bare number means the column's unit: roubles, or the minutes or hours it names.
        if not prices and any(word in name for word in _PRICE_COLUMNS):
            prices = {_amount(m) for m in _BARE_NUMBER.findall(value)}
        elif not durations and any(word in name for word in _DURATION_COLUMNS):
            per = 60.0 if re.search(r"(?<!\w)(?:ч|час\w*)(?!\w)", name) else 1.0
            durations = {_minutes(m, per) for m in _BARE_NUMBER.findall(value)}
        found.setdefault("price", set()).update(prices)
        found.setdefault("duration", set()).update(durations)
        hours = {f"{int(h):02d}:{m}" for h, m in _TIME_OF_DAY.findall(value)}
        for start, end in _FROM_TO.findall(value):
            hours.update({f"{int(start):02d}:00", f"{int(end):02d}:00"})
        found.setdefault("hours", set()).update(hours)
    return {kind: frozenset(values) for kind, values in found.items() if values}


def find_conflicts(records: Sequence[Record], updated_at: Mapping[str, float]) -> Conflicts:
    """The disagreements among `records`; `updated_at` maps a record id to when its source
    (file or owner's answer) last changed.

    For every record the newest record of the same subject from another source that gives a
    figure of a kind it gives too is its judge: when they differ, the record is an older rival
    of that one. A record that agrees with the newest word is no rival, even if a version in
    between said otherwise. On equal times the owner's answer wins, then the later file name.
    """
    subjects: dict[str, list[Version]] = {}
    for record in records:
        if not record.fields or not record.title:
            continue
        facts = record_facts(record)
        key = subject_key(record.title)
        if facts and key:
            version = Version(record, updated_at.get(record.record_id, 0.0), facts)
            subjects.setdefault(key, []).append(version)
    items: list[Conflict] = []
    for versions in subjects.values():
        if len({v.source_key for v in versions}) < 2:
            continue
        newest_first = sorted(versions, key=_recency, reverse=True)
        rivals: dict[int, list[tuple[Version, set[Kind]]]] = {}
        # A record that lost to a newer one judges nobody: the bot does not use it.
        beaten: set[int] = set()
        for position, older in enumerate(newest_first):
            judge = next(
                (
                    (at, newer)
                    for at, newer in enumerate(newest_first[:position])
                    if at not in beaten
                    and newer.source_key != older.source_key
                    and _same_part(newer.record, older.record)
                    and newer.facts.keys() & older.facts.keys()
                ),
                None,
            )
            if judge is None:
                continue
            at, newer = judge
            differ = {
                k
                for k in newer.facts.keys() & older.facts.keys()
                if newer.facts[k] != older.facts[k]
            }
            if differ:
                rivals.setdefault(at, []).append((older, differ))
                beaten.add(position)
        for at, found in rivals.items():
            used = newest_first[at]
            kinds = set().union(*(differ for _, differ in found))
            items.append(
                Conflict(
                    subject=used.record.title or "",
                    used=used,
                    older=tuple(v for v, _ in found),
                    kinds=tuple(k for k in KINDS if k in kinds),
                )
            )
    items.sort(key=lambda c: subject_key(c.subject))
    return Conflicts(tuple(items))


def _recency(version: Version) -> tuple[float, bool, str]:
    return (version.updated_at, version.record.by_owner, version.record.source.file)


def _same_part(a: Record, b: Record) -> bool:
    """Whether two rows may be one service: not when both name a category and they differ."""
    first, second = _category(a), _category(b)
    return not first or not second or first == second


def _category(record: Record) -> str:
    named = [
        value
        for column, value in record.fields.items()
        if any(word in normalize(column) for word in _CATEGORY_COLUMNS)
    ]
    section = record.source.heading if record.source.row is not None else None
    return subject_key(" ".join(named) or section or "")


def _amount(text: str) -> str:
    number = float(re.sub(r"[ \u00a0]", "", text).replace(",", "."))
    return _plain(number)


def _minutes(text: str, per_unit: float) -> str:
    return _plain(float(re.sub(r"[ \u00a0]", "", text).replace(",", ".")) * per_unit)


def _plain(number: float) -> str:
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _say(kind: Kind, values: frozenset[str]) -> str:
    if kind == "hours":
        times = sorted(values)
        return "–".join(times) if len(times) == 2 else ", ".join(times)
    ordered = sorted(values, key=float)
    unit = "₽" if kind == "price" else "мин"
    return f"{', '.join(_grouped(v) for v in ordered)} {unit}"


def _grouped(value: str) -> str:
    whole, _, fraction = value.partition(".")
    grouped = f"{int(whole):,}".replace(",", " ")
    return f"{grouped},{fraction}" if fraction else grouped
