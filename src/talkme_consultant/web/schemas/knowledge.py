"""The answers of the knowledge-base routes: its files, its rebuilds and its score."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from talkme_consultant.helpers.kinds import FileOrigin
from talkme_consultant.service.knowledge_base import BuildState
from talkme_consultant.web.schemas.shared import Answer, ErrorAnswer, Seconds, known

__all__ = [
    "AnswerThreshold",
    "ConflictSide",
    "EvaluationFailure",
    "EvaluationMiss",
    "EvaluationScore",
    "FileDeleted",
    "FileEntry",
    "FileList",
    "FilesDeleted",
    "KnowledgeBaseStatus",
    "KnowledgeConflict",
    "RebuildStarted",
    "RebuildStatus",
    "UploadAccepted",
    "UploadRefused",
]

# -- knowledge-base files -----------------------------------------------------------------------


class FileEntry(Answer):
    """A stored knowledge file."""

    filename: str
    size: int = Field(description="Bytes.")
    sha256: str
    origin: str = Field(
        description=f"Where it came from: {known(FileOrigin)} (`dir`: KNOWLEDGE_DIR)."
    )
    records: int = Field(description="Records read from it.")
    error: str | None = Field(description="Why it could not be read; null when it was.")
    updated_at: Seconds


class FileList(Answer):
    """Every stored knowledge file, by name."""

    files: list[FileEntry]


class UploadAccepted(Answer):
    """Every file was readable and is stored; the index is rebuilt in the background."""

    success: Literal[True] = True
    uploaded: dict[str, int] = Field(description="File name → records read from it.")
    errors: dict[str, str] = Field(description="Always empty: a bad file refuses the upload.")
    version: int = Field(description="The knowledge base's new version.")


class UploadRefused(ErrorAnswer):
    """A file could not be read: nothing was stored. `errors` names each bad file and why."""

    errors: dict[str, str]


class FileDeleted(Answer):
    """The file and its records are gone; the index is rebuilt in the background."""

    success: Literal[True] = True
    deleted: str = Field(description="The file name.")
    version: int


class FilesDeleted(Answer):
    """The knowledge base is empty."""

    success: Literal[True] = True
    deleted: int = Field(description="How many files there were.")
    version: int


# -- knowledge-base rebuilds --------------------------------------------------------------------


class EvaluationMiss(BaseModel):
    """A case whose expected text was not in the first hit, with what came back instead."""

    question: str
    expected: str
    rank: int | None = Field(description="Rank of the right record within the top 10, or null.")
    top_texts: list[str]


class EvaluationScore(BaseModel):
    """How the served index does on the business's own questions (`cases.jsonl`)."""

    model_config = ConfigDict(extra="allow")

    cases: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    misses: list[EvaluationMiss] = Field(description="At most 50.")
    version: int = Field(description="The knowledge-base version that was scored.")
    at: Seconds


class EvaluationFailure(BaseModel):
    """The case file could not be read, so nothing was scored."""

    model_config = ConfigDict(extra="allow")

    error: str
    at: Seconds


class AnswerThreshold(BaseModel):
    """The confidence a record needs before the bot answers with it, and where it came from."""

    threshold: float = Field(ge=0, le=1)
    source: Literal["cases", "default"] = Field(
        description="Calibrated on the business's cases.jsonl, or the conservative default "
        "(CONFIDENCE_THRESHOLD) when there are none or too few."
    )
    target: float = Field(
        description="ANSWER_PRECISION_TARGET: the share of answers that must be right."
    )
    cases: int = Field(description="Cases the threshold was measured on.")
    precision: float | None = Field(
        description="Share of the cases answered at the threshold whose first record was right."
    )
    coverage: float | None = Field(description="Share of the cases answered at the threshold.")


class ConflictSide(Answer):
    """One record of a conflict: where it is and what it says."""

    file: str = Field(description="The file, or `owner-faq` for an owner's answer.")
    row: int | None = Field(description="The row in the file, or the owner's answer's id.")
    value: str = Field(description="The figures that differ, as a person writes them.")
    updated_at: Seconds = Field(description="When its file or owner's answer last changed.")


class KnowledgeConflict(Answer):
    """A service or question the sources disagree on: the newest is served, the older not."""

    subject: str = Field(description="The service name or question, as the newest record has it.")
    differ: list[Literal["price", "duration", "hours"]]
    used: ConflictSide
    older: list[ConflictSide] = Field(description="Rivals left out of the served index.")


class KnowledgeBaseStatus(Answer):
    """The knowledge base being served, and the one in the store."""

    ready: bool
    version: int = Field(description="The version being served.")
    stored_version: int = Field(description="The newest version in the store.")
    records: int
    files: int
    file_errors: dict[str, str] = Field(description="File name → why it could not be read.")
    rebuilding: bool
    evaluation: EvaluationScore | EvaluationFailure | None = Field(
        description="The score of the case file; null when there is none."
    )
    answering: AnswerThreshold
    conflicts: list[KnowledgeConflict] = Field(
        description="Records that disagree on a price, duration or hours, found at the build."
    )


class RebuildStarted(Answer):
    """A rebuild has started; follow it at /knowledge-base/regeneration/status."""

    success: Literal[True] = True
    state: Literal["started"] = "started"


class RebuildStatus(Answer):
    """The latest rebuild: its stage and progress."""

    running: bool
    state: BuildState
    done: int = Field(description="Representations embedded so far.")
    total: int
    started_at: Seconds | None
    finished_at: Seconds | None
    error: str | None = Field(description="The failure's type when the rebuild failed.")
    file_errors: dict[str, str]
