"""The child process that reads knowledge files: `python -m talkme_consultant.service.parse_worker`.

It is started by `talkme_consultant.service.parsing` with a job on stdin, limits its own address
space and CPU time before it touches a byte of any file, and answers one JSON line per file on
stdout. Whatever a hostile file does here — exhaust memory, spin, crash the interpreter — costs
this process only; the service sees a per-file error.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from talkme_consultant.helpers.cleaning import clean_text
from talkme_consultant.knowledge.loaders import LoaderError, ParseLimits, load_file

EXIT_OUT_OF_MEMORY = 3
MEGABYTE = 1024 * 1024
RESERVE_BYTES = 16 * MEGABYTE
MAX_FILE_WRITE_BYTES = 16 * MEGABYTE
READY = '{"ready": true}'


class JobFile(BaseModel):
    """One file to read: where its bytes are and the name its records cite."""

    name: str
    path: str


class Job(BaseModel):
    """What the parent asks for (see `parsing.run_job`)."""

    memory_mb: int
    cpu_seconds: int
    limits: dict[str, int]
    files: list[JobFile]


def limit_resources(memory_mb: int, cpu_seconds: int) -> None:
    """Cap this process's address space and CPU time (the kernel enforces both)."""
    memory = memory_mb * MEGABYTE
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    # A crash must not leave a core file the size of the memory limit behind, and a parser that
    # complains endlessly on stderr (a file here) must not fill the disk.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_WRITE_BYTES, MAX_FILE_WRITE_BYTES))


def read_one(
    file: JobFile, limits: ParseLimits, memory_mb: int, reserve: bytearray
) -> tuple[dict[str, Any], bool]:
    """The answer line for one file, and whether this process must stop after it.

    `reserve` is memory set aside at start: freed on a MemoryError so that the answer can still
    be written. Nothing is allocated inside that handler; the parser's objects die with the
    exception as the handler ends.
    """
    out_of_memory = False
    try:
        records = load_file(Path(file.path), file.name, limits)
        return {"records": [record.model_dump(mode="json") for record in records]}, False
    except LoaderError as error:
        return {"error": error.reason}, False
    except MemoryError:
        reserve.clear()
        out_of_memory = True
    except RecursionError:
        return {"error": "its structure is nested too deeply to read"}, False
    except Exception as error:  # any parser bug or malformed structure is one file's problem
        detail = str(error).replace(file.path, file.name)[:300]
        kind = type(error).__name__
        return {"error": f"the file is damaged or not what its name says ({kind}: {detail})"}, False
    assert out_of_memory
    # The heap may be fragmented or half-updated now: answer, then let a fresh child go on.
    reason = f"reading it needs more than the {memory_mb} MB memory limit"
    return {"error": reason, "stop": True}, True


def warm_up() -> None:
    """Import the parsers before any file is read: their start-up is not a file's fault."""
    import docx  # noqa: F401
    import openpyxl  # noqa: F401
    import pypdf  # noqa: F401
    import xlrd  # noqa: F401


def main() -> int:
    """Read the job from stdin, answer each file on its own line; exit 3 after a MemoryError."""
    job = Job.model_validate_json(sys.stdin.buffer.read())
    limit_resources(job.memory_mb, job.cpu_seconds)
    warm_up()
    reserve = bytearray(RESERVE_BYTES)
    limits = ParseLimits(**job.limits)
    out = sys.stdout
    # The parent's per-file clock starts here, so interpreter start-up never counts against a file.
    out.write(READY + "\n")
    out.flush()
    for file in job.files:
        answer, stop = read_one(file, limits, job.memory_mb, reserve)
        # A lone surrogate (old .xls files carry UTF-16 text) could not even be written out.
        out.write(json.dumps(_cleaned(answer), ensure_ascii=False) + "\n")
        out.flush()
        if stop:
            return EXIT_OUT_OF_MEMORY
    return 0


def _cleaned(value: Any) -> Any:
    """`value` with every string in it cleaned of NUL, lone surrogates and control characters."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {key: _cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
