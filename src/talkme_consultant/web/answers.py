"""Answer models filled from the service's and the store's own objects, without copying each field.

`answer_from(FileEntry, info, filename=info.name)` reads every field of the answer from the
attribute of the same name (pydantic's `from_attributes`) and takes from the keywords only what is
named or computed differently there. The answer still validates, so a value of the wrong type or a
field the source lacks fails loudly instead of reaching `/docs` readers.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from talkme_consultant.knowledge.conflicts import Conflicts, Kind, Version
from talkme_consultant.talkme.payloads import mask_phone
from talkme_consultant.web.schemas import ConflictSide, KnowledgeConflict

AnswerT = TypeVar("AnswerT", bound=BaseModel)


class _Overlay:
    """An object's attributes, with some of them replaced."""

    def __init__(self, source: object, values: dict[str, Any]) -> None:
        self._source = source
        self._values = values

    def __getattr__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        return getattr(self._source, name)


def answer_from(model: type[AnswerT], source: object, **values: Any) -> AnswerT:
    """`model` with its fields read from `source`'s attributes, `values` taking precedence.

    Raises TypeError for a keyword that names no field of `model` (a misspelt name would
    otherwise be ignored silently), and pydantic's ValidationError for a missing or bad value.
    """
    unknown = set(values) - set(model.model_fields)
    if unknown:
        raise TypeError(f"{model.__name__} has no field(s) {', '.join(sorted(unknown))}")
    return model.model_validate(_Overlay(source, values), from_attributes=True)


def masked_phone(phone: str | None) -> str | None:
    """A phone number as the admin API and the monitoring routes give it: masked, or None."""
    return mask_phone(phone) if phone else None


def conflict_answers(conflicts: Conflicts) -> list[KnowledgeConflict]:
    """The knowledge base's conflicts as `/knowledge-base/status` lists them."""
    return [
        KnowledgeConflict(
            subject=c.subject,
            differ=list(c.kinds),
            used=_side(c.used, c.kinds),
            older=[_side(v, c.kinds) for v in c.older],
        )
        for c in conflicts.items
    ]


def _side(version: Version, kinds: tuple[Kind, ...]) -> ConflictSide:
    source = version.record.source
    return ConflictSide(
        file=source.file, row=source.row, value=version.value(kinds), updated_at=version.updated_at
    )
