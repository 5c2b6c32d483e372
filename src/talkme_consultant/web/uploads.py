"""Reading a multipart upload of knowledge files as a stream, within limits, after authentication.

FastAPI parses a form body before the route's dependencies run, so a declared `UploadFile`
parameter would let anyone make the service read (and spool to disk) a body of any size before
it answers 401. The upload route therefore declares no body: the admin check runs first, and
only then is the body read here — its declared length checked before a byte is read, every byte
counted while streaming, file names and types checked as each part begins, and each file's size
checked as it grows. The first limit crossed ends the request with a status naming that limit.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from talkme_consultant.config import Settings
from talkme_consultant.knowledge.loaders import SUPPORTED_SUFFIXES
from talkme_consultant.service.case_scoring import CASES_FILENAME
from talkme_consultant.service.knowledge_files import IngestReport, KnowledgeFiles, Unreadable
from talkme_consultant.web.schemas import UploadAccepted, UploadRefused

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILES_FIELD = "files"
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)

# What the route's OpenAPI entry says about its body (the route reads the body itself).
UPLOAD_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILES_FIELD],
                "properties": {
                    FILES_FIELD: {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "knowledge files (.xlsx, .csv, .docx, .pdf, .md, …)",
                    }
                },
            }
        }
    },
}


class UploadProblem(enum.StrEnum):
    """Why an upload was refused before anything was stored."""

    BAD_NAME = "bad_name"
    WRONG_TYPE = "wrong_type"
    TOO_MANY_FILES = "too_many_files"
    FILE_TOO_LARGE = "file_too_large"
    REQUEST_TOO_LARGE = "request_too_large"
    NOT_MULTIPART = "not_multipart"
    MALFORMED = "malformed"
    NO_FILES = "no_files"


class UploadRefusal(HTTPException):
    """An upload refused with an HTTP status and an English `detail` for the admin API; the
    console says the same in Russian from `problem`, the file's `name` and the `limit`."""

    def __init__(
        self,
        status_code: int,
        problem: UploadProblem,
        detail: str,
        *,
        name: str | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.problem = problem
        self.name = name
        self.limit = limit


@dataclass(frozen=True)
class UploadLimits:
    """UPLOAD_MAX_REQUEST_BYTES, UPLOAD_MAX_BYTES and UPLOAD_MAX_FILES."""

    max_request_bytes: int
    max_file_bytes: int
    max_files: int

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        """The limits the service is configured with."""
        return cls(
            max_request_bytes=settings.upload_max_request_bytes,
            max_file_bytes=settings.upload_max_bytes,
            max_files=settings.upload_max_files,
        )


def sanitize_filename(raw: str) -> str:
    """The bare file name of an upload: no folders, no traversal, no control characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name or name in {".", ".."} or len(name) > 200:
        raise UploadRefusal(400, UploadProblem.BAD_NAME, f"invalid file name {raw!r}")
    return name


def check_type(name: str) -> None:
    """415 unless the file's suffix has a loader (or it is the case file)."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES and name != CASES_FILENAME:
        allowed = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UploadRefusal(
            415,
            UploadProblem.WRONG_TYPE,
            f"{name}: unsupported file type {suffix or '(none)'}; supported: {allowed}",
            name=name,
        )


@dataclass
class _Parts:
    """Collects the files of the multipart stream as python-multipart reports its parts."""

    limits: UploadLimits
    files: list[tuple[str, bytes]] = field(default_factory=list)
    ended: bool = False
    _headers: dict[str, bytes] = field(default_factory=dict)
    _header_field: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    _name: str | None = None  # the current part's file name; None for parts we skip
    _data: bytearray = field(default_factory=bytearray)

    def callbacks(self) -> MultipartCallbacks:
        """The parser's callbacks, bound to this collector."""
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers.clear()
        self._name = None
        self._data = bytearray()

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field.extend(data[start:end])

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value.extend(data[start:end])

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).decode("latin-1").lower()] = bytes(
            self._header_value
        )
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        if options.get(b"name", b"").decode("latin-1") != FILES_FIELD:
            return  # other form fields are not ours; their bytes still count towards the cap
        raw = options.get(b"filename")
        if raw is None:
            raise UploadRefusal(
                400, UploadProblem.NO_FILES, f"form field {FILES_FIELD!r} must carry files"
            )
        if len(self.files) + 1 > self.limits.max_files:
            raise UploadRefusal(
                413,
                UploadProblem.TOO_MANY_FILES,
                f"too many files in one upload: at most {self.limits.max_files} (UPLOAD_MAX_FILES)",
                limit=self.limits.max_files,
            )
        name = sanitize_filename(raw.decode("utf-8", "replace"))
        check_type(name)
        self._name = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name is None:
            return
        self._data.extend(data[start:end])
        if len(self._data) > self.limits.max_file_bytes:
            raise UploadRefusal(
                413,
                UploadProblem.FILE_TOO_LARGE,
                f"{self._name}: larger than the {self.limits.max_file_bytes}-byte upload limit",
                name=self._name,
                limit=self.limits.max_file_bytes,
            )

    def _part_end(self) -> None:
        if self._name is not None:
            self.files.append((self._name, bytes(self._data)))
        self._name, self._data = None, bytearray()

    def _end(self) -> None:
        self.ended = True


async def read_upload(request: Request, limits: UploadLimits) -> list[tuple[str, bytes]]:
    """The (sanitised name, bytes) of every file in the request's `files` field.

    Raises UploadRefusal: 415 when the body is not multipart, 413 when the request, a file or
    the number of files is over its limit, 400/415 for a bad name or type, 400 for a malformed
    or empty body. Nothing is stored; the caller decides what to do with the files.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRefusal(
            415,
            UploadProblem.NOT_MULTIPART,
            f"send the files as multipart/form-data in the field {FILES_FIELD!r}",
        )
    request_limit = limits.max_request_bytes
    over_request = UploadRefusal(
        413,
        UploadProblem.REQUEST_TOO_LARGE,
        f"the upload is larger than the {request_limit}-byte request limit "
        "(UPLOAD_MAX_REQUEST_BYTES)",
        limit=request_limit,
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > request_limit:
        raise over_request
    parts = _Parts(limits)
    parser = MultipartParser(boundary, parts.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > request_limit:
                raise over_request
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as error:
        raise UploadRefusal(
            400, UploadProblem.MALFORMED, f"the multipart body is malformed ({error})"
        ) from error
    if not parts.ended:
        raise UploadRefusal(400, UploadProblem.MALFORMED, "the multipart body ended before its end")
    if not parts.files:
        raise UploadRefusal(
            400,
            UploadProblem.NO_FILES,
            f"no files in the upload: send them in the field {FILES_FIELD!r}",
        )
    return parts.files


async def take_upload(
    request: Request, files: KnowledgeFiles, settings: Settings
) -> IngestReport | Unreadable:
    """Read the request's files within the UPLOAD_* limits and store them all or none.

    Raises UploadRefusal as `read_upload` does, before anything is stored.
    """
    return await files.upload(await read_upload(request, UploadLimits.from_settings(settings)))


async def receive_upload(
    request: Request, files: KnowledgeFiles, settings: Settings
) -> UploadAccepted | JSONResponse:
    """The admin API's answer to an upload (`take_upload`): the files stored, or a 422 naming
    each unreadable file and why. Raises UploadRefusal before anything is stored."""
    outcome = await take_upload(request, files, settings)
    if isinstance(outcome, Unreadable):
        # Bad input changes nothing: the owner fixes the file and uploads the set again.
        names = ", ".join(f"{name}: {reason}" for name, reason in outcome.errors.items())
        refused = UploadRefused(
            error=f"unreadable file(s), nothing was stored — {names}", errors=outcome.errors
        )
        return JSONResponse(status_code=422, content=refused.model_dump(mode="json"))
    return UploadAccepted(uploaded=outcome.files, errors={}, version=outcome.version)
