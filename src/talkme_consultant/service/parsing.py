"""Reading knowledge files in a child process with memory and time limits.

A knowledge file comes from outside: an upload or a folder anyone with disk access can drop a file
into. Parsers for Office and PDF formats are large and were not written for hostile input, so
they run in `parse_worker`, a separate interpreter whose address space and CPU time the kernel
caps. The service waits for each file at most PARSE_TIMEOUT_SECONDS; a child that runs out of
memory, crashes or hangs is killed and the file gets an error in plain words. The files after it
are read by a fresh child.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import ValidationError

from talkme_consultant.knowledge.loaders import ParseLimits
from talkme_consultant.knowledge.records import Record
from talkme_consultant.service.parse_worker import EXIT_OUT_OF_MEMORY, READY, Job, JobFile

log = logging.getLogger(__name__)

# One file's answer (its records as JSON) must fit in this many bytes of the parent's memory.
MAX_ANSWER_BYTES = 256 * 1024 * 1024
# Starting an interpreter and importing the parsers; slow only on a very busy machine.
STARTUP_SECONDS = 60.0
# The child gets no secrets: only what an interpreter needs to find its packages.
_ENV_KEEP = ("PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "LANG", "LC_ALL", "TMPDIR")

ParseResult = tuple[list[Record], str | None]


@dataclass(frozen=True)
class ParseOptions:
    """How much one file may cost: memory and wall time of the child, and the content caps."""

    memory_mb: int = 1024
    timeout_seconds: float = 60.0
    limits: ParseLimits = field(default_factory=ParseLimits)
    max_file_bytes: int = 20 * 1024 * 1024  # a KNOWLEDGE_DIR file larger than this is not read


async def parse_isolated(
    files: Sequence[tuple[str, bytes]], options: ParseOptions
) -> list[ParseResult]:
    """(records, error or None) for each (name, content), in order, read by limited children."""
    if not files:
        return []
    with tempfile.TemporaryDirectory(prefix="talkme-parse-") as folder:
        jobs: list[JobFile] = []
        for number, (name, content) in enumerate(files):
            # The temporary name keeps only the suffix: the owner's name never touches the disk.
            path = Path(folder) / f"file{number}{Path(name).suffix.lower()}"
            path.write_bytes(content)
            jobs.append(JobFile(name=name, path=str(path)))
        results: list[ParseResult] = []
        while len(results) < len(jobs):
            results.extend(await _run_child(jobs[len(results) :], options, Path(folder)))
        return results


async def _run_child(jobs: list[JobFile], options: ParseOptions, folder: Path) -> list[ParseResult]:
    """Read as many of `jobs` as one child manages; the file it failed on gets an error."""
    job = Job(
        memory_mb=options.memory_mb,
        # The wall-clock timeout below is the real limit; this is the kernel's backstop.
        cpu_seconds=math.ceil(options.timeout_seconds * len(jobs)) + 5,
        limits=asdict(options.limits),
        files=jobs,
    )
    stderr_path = folder / "worker.stderr"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "talkme_consultant.service.parse_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=_child_env(),
            limit=MAX_ANSWER_BYTES,
        )
    results: list[ParseResult] = []
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(job.model_dump_json().encode())
        with contextlib.suppress(ConnectionError):
            await process.stdin.drain()
        process.stdin.close()
        if not await _started(process.stdout):
            code = await _stop(process, finished=False)
            log.error(
                "the knowledge file reader did not start (%s): %s",
                _describe_status(code),
                _stderr_tail(stderr_path),
            )
            reason = "the file reader could not start; try again, and see the service log"
            return [([], reason) for _ in jobs]
        for file in jobs:
            try:
                line = await asyncio.wait_for(
                    process.stdout.readline(), timeout=options.timeout_seconds
                )
            except TimeoutError:
                results.append(([], _timeout_error(options)))
                break
            except ValueError:  # the answer is larger than MAX_ANSWER_BYTES
                results.append(([], "it holds more text than one file may (over 256 MB)"))
                break
            if not line:
                code = await process.wait()
                tail = _stderr_tail(stderr_path)
                results.append(([], _crash_error(code, options, tail)))
                log.warning(
                    "knowledge file reader died on %s (%s): %s",
                    file.name,
                    _describe_status(code),
                    tail,
                )
                break
            result, stop = _decode(line, file.name)
            results.append(result)
            if stop:  # the child gave up after this file (out of memory): a fresh one goes on
                break
    finally:
        await _stop(process, finished=len(results) == len(jobs))
    return results


async def _started(stdout: asyncio.StreamReader) -> bool:
    try:
        line = await asyncio.wait_for(stdout.readline(), timeout=STARTUP_SECONDS)
    except (TimeoutError, ValueError):
        return False
    return line.strip() == READY.encode()


async def _stop(process: asyncio.subprocess.Process, *, finished: bool) -> int:
    """Let a child that answered everything exit on its own; kill any other at once."""
    if finished:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=5)
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    return await process.wait()


def _decode(line: bytes, name: str) -> tuple[ParseResult, bool]:
    """One answer line: the file's result, and whether the child stops after it."""
    try:
        answer = json.loads(line)
        stop = bool(answer.get("stop", False))
        if "error" in answer:
            return ([], str(answer["error"])), stop
        return ([Record.model_validate(item) for item in answer["records"]], None), stop
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError):
        log.error("unreadable answer from the knowledge file reader for %s", name)
        return ([], "the file reader gave an answer that could not be understood"), True


def _timeout_error(options: ParseOptions) -> str:
    return (
        f"reading it took longer than the {options.timeout_seconds:g}-second limit "
        "(the file is damaged or built to overload the service)"
    )


def _crash_error(code: int, options: ParseOptions, stderr: str) -> str:
    if code == -signal.SIGXCPU:
        return _timeout_error(options)
    # Out of memory deep inside a parser, the child may die before it can answer.
    if code == EXIT_OUT_OF_MEMORY or "MemoryError" in stderr:
        return f"reading it needs more than the {options.memory_mb} MB memory limit"
    return (
        "the file reader stopped while reading it "
        f"({_describe_status(code)}); the file is damaged or built to overload the service"
    )


def _describe_status(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def _stderr_tail(path: Path) -> str:
    try:
        return path.read_bytes()[-2000:].decode("utf-8", "replace")
    except OSError:
        return ""


def _child_env() -> dict[str, str]:
    return {key: os.environ[key] for key in _ENV_KEEP if key in os.environ}
