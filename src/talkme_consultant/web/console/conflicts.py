"""Records that disagree, in the owner's words: which one the bot uses, where the other one is,
and what the one click offered beside it deletes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from talkme_consultant.helpers.kinds import FileOrigin
from talkme_consultant.knowledge.conflicts import Conflict, Conflicts, Kind, Version
from talkme_consultant.knowledge.records import Record
from talkme_consultant.store.knowledge import FileInfo

_NOUNS: dict[Kind, tuple[str, str, str]] = {
    # kind: (noun, «разная …» form, «другая …» form)
    "price": ("цена", "разная цена", "другая цена"),
    "duration": ("длительность", "разная длительность", "другая длительность"),
    "hours": ("часы работы", "разные часы работы", "другие часы работы"),
}


def differ_words(kinds: Sequence[Kind]) -> str:
    """What the rivals disagree on: «разная цена», «разная цена и длительность»."""
    if not kinds:
        return "разные цифры"
    first, *rest = kinds
    return " и ".join([_NOUNS[first][1], *(_NOUNS[k][0] for k in rest)])


def other_words(kinds: Sequence[Kind]) -> str:
    """The playground's «В базе есть другая цена…»: the kind of figure that differs."""
    if not kinds:
        return "другие цифры"
    first, *rest = kinds
    return " и ".join([_NOUNS[first][2], *(_NOUNS[k][0] for k in rest)])


def where(record: Record) -> str:
    """Where a record is, as the owner would look for it: «ваш ответ» or the file and its row."""
    if record.by_owner:
        return "ваш ответ"
    parts = [f"файл {record.source.file}"]
    if record.source.sheet:
        parts.append(f"лист «{record.source.sheet}»")
    if record.source.row is not None:
        parts.append(f"строка {record.source.row}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Removal:
    """The one click beside a rival: what it posts to, its button and what it will do."""

    action: str
    button: str
    consequence: str


def removal(record: Record, files: Mapping[str, FileInfo]) -> Removal:
    """Deleting the rival's source: the owner's answer itself, or its whole file (a row cannot
    be deleted from a file; saying how many records go with it keeps that from surprising).
    `files` are the stored files by name."""
    if record.by_owner:
        return Removal(
            action=f"/console/knowledge/owner-faq/{record.source.row}/delete",
            button="Удалить ваш ответ",
            consequence="Удалит этот ваш ответ; файлы останутся как есть.",
        )
    name = record.source.file
    info = files.get(name)
    others = max((info.records_count if info else 1) - 1, 0)
    rest = (
        f" Вместе с этой строкой удалятся и остальные записи файла ({others})."
        if others
        else " Других записей в файле нет."
    )
    if info is not None and info.origin == FileOrigin.DIR:
        # The folder is read again whenever it changes: a file left there comes back, newest.
        rest += " Файл взят из папки базы знаний на сервере: удалите его и там, иначе он вернётся."
    return Removal(
        action=f"/console/knowledge/files/{quote(name, safe='')}/delete",
        button=f"Удалить файл {name}",
        consequence=f"Удалит файл {name} целиком.{rest}",
    )


@dataclass(frozen=True)
class RivalView:
    """An older record the bot no longer answers with."""

    version: Version
    where: str
    value: str
    removal: Removal


@dataclass(frozen=True)
class ConflictView:
    """One disagreement as the knowledge page lists it."""

    subject: str
    differ: str
    used: Version
    used_where: str
    used_value: str
    rivals: list[RivalView]


def conflict_views(conflicts: Conflicts, files: Mapping[str, FileInfo]) -> list[ConflictView]:
    """The knowledge page's list; `files` are the stored files by name."""
    return [_view(conflict, files) for conflict in conflicts.items]


def _view(conflict: Conflict, files: Mapping[str, FileInfo]) -> ConflictView:
    kinds = conflict.kinds
    return ConflictView(
        subject=conflict.subject,
        differ=differ_words(kinds),
        used=conflict.used,
        used_where=where(conflict.used.record),
        used_value=conflict.used.value(kinds),
        rivals=[
            RivalView(v, where(v.record), v.value(kinds), removal(v.record, files))
            for v in conflict.older
        ],
    )


@dataclass(frozen=True)
class RivalNote:
    """The playground's note on an answer that had a rival: «В базе есть другая цена: …»."""

    other: str
    rivals: list[tuple[str, str]]  # (value, where) of each older record
    used_value: str


def rival_notes(conflicts: Conflicts, record_ids: Sequence[str]) -> list[RivalNote]:
    """Notes for the records an answer used that won over older rivals."""
    notes: list[RivalNote] = []
    for record_id in record_ids:
        conflict = conflicts.of(record_id)
        if conflict is None:
            continue
        kinds = conflict.kinds
        notes.append(
            RivalNote(
                other=other_words(kinds),
                rivals=[(v.value(kinds), _in(v.record)) for v in conflict.older],
                used_value=conflict.used.value(kinds),
            )
        )
    return notes


def _in(record: Record) -> str:
    return "в вашем ответе" if record.by_owner else f"в {record.source.file}"
