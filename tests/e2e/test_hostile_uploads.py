"""Uploads that cannot hurt: over real HTTP, with malicious files the tests build themselves.

The admin check comes before a byte of the body is read; the request's size and file count are
capped; every file is read in a child process with memory and time limits, so a zip bomb, an
entity bomb, a sheet-wide merged range, broken XML or a PDF that takes forever each come back as
a 422 naming the file and why — nothing is stored, and the service's own memory stays flat.
"""

from __future__ import annotations

import resource
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.support import hostile_files as hostile
from tests.support.raw_http import Streamed, send_until_answered
from tests.support.service import ADMIN_TOKEN, RunningService, running_service, service_settings

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MEGABYTE = 1024 * 1024
REQUEST_LIMIT = 2 * MEGABYTE
FILE_LIMIT = MEGABYTE
MAX_FILES = 3
TIMEOUT_SECONDS = 3.0
MAX_PAGES = 5
# The service runs in this test process: its peak resident memory may grow by at most this much
# while it refuses a file a naive reader would need gigabytes for.
MEMORY_GROWTH_LIMIT = 150 * MEGABYTE
GOOD_MD = "# Парковка\n\nУ салона есть бесплатная парковка на десять машин.\n".encode()


def guarded_settings(data_dir: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "upload_max_request_bytes": REQUEST_LIMIT,
        "upload_max_bytes": FILE_LIMIT,
        "upload_max_files": MAX_FILES,
        "parse_timeout_seconds": TIMEOUT_SECONDS,
        "parse_max_pdf_pages": MAX_PAGES,
        **overrides,
    }
    return service_settings(data_dir, None, **values)


def peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def multipart(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, content, "application/octet-stream")) for name, content in items]


async def upload(service: RunningService, *items: tuple[str, bytes]) -> httpx.Response:
    return await service.http.post(
        service.url + "/files/upload", files=multipart(*items), headers=ADMIN, timeout=60
    )


async def stored(service: RunningService) -> tuple[dict[str, str], int]:
    """What the store holds: file names with their hashes, and the stored version."""
    listed = await service.admin_get("/files")
    state = await service.admin_get("/knowledge-base/status")
    return {f["filename"]: f["sha256"] for f in listed["files"]}, state["stored_version"]


# -- one service for the refusals (each changes nothing) ----


@pytest.fixture(scope="module")
def guarded_data_dir(
    sample_store_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("guarded") / "data"
    shutil.copytree(sample_store_template, target)
    yield target


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def guarded(guarded_data_dir: Path) -> AsyncIterator[RunningService]:
    async with running_service(guarded_settings(guarded_data_dir)) as running:
        yield running


# -- the body is not read before the admin check ----


@pytest.mark.asyncio(loop_scope="module")
async def test_a_200_mb_upload_without_the_token_is_answered_401_before_most_of_it_is_sent(
    guarded: RunningService,
) -> None:
    size = 200 * MEGABYTE
    head = b'--b\r\nContent-Disposition: form-data; name="files"; filename="huge.md"\r\n\r\n'
    body = Streamed(size, head=head)
    before = peak_rss_bytes()
    answer = await send_until_answered(
        guarded.url,
        {"Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(size)},
        body,
        path="/files/upload",
    )
    assert answer.status == 401
    assert b"admin token" in answer.body
    assert answer.headers["connection"] == "close", "the unread rest is not drained"
    assert body.sent < size // 10, f"the client got to send {body.sent} bytes first"
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT


@pytest.mark.asyncio(loop_scope="module")
async def test_a_declared_length_over_the_request_limit_is_413_before_the_body_is_read(
    guarded: RunningService,
) -> None:
    # Under MAX_REQUEST_BYTES, which every request meets first (tests/e2e/test_refuse_early.py).
    size = 64 * MEGABYTE
    body = Streamed(size)
    before = await stored(guarded)
    answer = await send_until_answered(
        guarded.url,
        {
            **ADMIN,
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(size),
        },
        body,
        path="/files/upload",
    )
    assert answer.status == 413
    error = answer.body.decode()
    assert f"{REQUEST_LIMIT}-byte request limit" in error
    assert "UPLOAD_MAX_REQUEST_BYTES" in error
    assert body.sent < size // 10, f"the client got to send {body.sent} bytes first"
    assert await stored(guarded) == before


@pytest.mark.asyncio(loop_scope="module")
async def test_a_streamed_body_is_counted_and_cut_off_at_the_request_limit(
    guarded: RunningService,
) -> None:
    before = await stored(guarded)
    # Many files each under the per-file cap, sent chunked (no length declared): only the count
    # of bytes actually received can stop it.
    request = guarded.http.build_request(
        "POST",
        guarded.url + "/files/upload",
        files=multipart(*[(f"part{n}.md", b"x" * (FILE_LIMIT - 100)) for n in range(3)]),
        headers=ADMIN,
    )
    raw = request.read()
    assert len(raw) > REQUEST_LIMIT

    async def chunks() -> AsyncIterator[bytes]:
        for offset in range(0, len(raw), 64 * 1024):
            yield raw[offset : offset + 64 * 1024]

    response = await guarded.http.post(
        guarded.url + "/files/upload",
        content=chunks(),
        headers={**ADMIN, "Content-Type": request.headers["content-type"]},
        timeout=60,
    )
    assert response.status_code == 413
    assert f"{REQUEST_LIMIT}-byte request limit" in response.json()["error"]
    assert await stored(guarded) == before


@pytest.mark.asyncio(loop_scope="module")
async def test_more_files_than_the_limit_is_413_naming_the_limit_and_stores_nothing(
    guarded: RunningService,
) -> None:
    before = await stored(guarded)
    items = [(f"note{n}.md", GOOD_MD) for n in range(MAX_FILES + 1)]
    response = await upload(guarded, *items)
    assert response.status_code == 413
    error = response.json()["error"]
    assert f"at most {MAX_FILES}" in error
    assert "UPLOAD_MAX_FILES" in error
    assert await stored(guarded) == before


@pytest.mark.asyncio(loop_scope="module")
async def test_a_file_over_the_size_cap_is_413_naming_it_and_stores_nothing(
    guarded: RunningService,
) -> None:
    before = await stored(guarded)
    response = await upload(guarded, ("good.md", GOOD_MD), ("huge.md", b"y" * (FILE_LIMIT + 1)))
    assert response.status_code == 413
    error = response.json()["error"]
    assert "huge.md" in error
    assert f"{FILE_LIMIT}-byte upload limit" in error
    assert await stored(guarded) == before


@pytest.mark.asyncio(loop_scope="module")
async def test_a_body_that_is_not_multipart_is_refused_with_415(guarded: RunningService) -> None:
    before = await stored(guarded)
    response = await guarded.http.post(
        guarded.url + "/files/upload", json={"files": ["x"]}, headers=ADMIN
    )
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["error"]
    assert await stored(guarded) == before


# -- malicious files: each a per-file 422, nothing stored, memory flat ----

HOSTILE: list[tuple[str, Callable[[], bytes], str]] = [
    ("bomb.xlsx", lambda: hostile.zip_bomb_workbook(400), "unpacks to 400.0 MB"),
    ("dense.xlsx", lambda: hostile.zip_bomb_workbook(60), "zip bomb"),
    ("laughs.docx", hostile.billion_laughs_document, "XML entities"),
    ("laughs.xlsx", hostile.billion_laughs_workbook, "XML entities"),
    ("merged.xlsx", hostile.merged_range_workbook, "merged cell ranges cover"),
    ("broken.xlsx", hostile.broken_xml_workbook, "XML inside the workbook is broken"),
    ("broken.docx", hostile.broken_xml_document, "damaged"),
    ("slow.pdf", hostile.slow_pdf, f"longer than the {TIMEOUT_SECONDS:g}-second limit"),
    ("long.pdf", lambda: hostile.pdf_with_pages(MAX_PAGES + 1), f"{MAX_PAGES}-page limit"),
]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("name", "build", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_file_is_a_422_naming_it_and_why_and_nothing_is_stored(
    guarded: RunningService, name: str, build: Callable[[], bytes], reason: str
) -> None:
    content = build()
    assert len(content) < FILE_LIMIT, "small on the wire: the harm is in parsing it"
    before = await stored(guarded)
    peak = peak_rss_bytes()
    started = time.monotonic()

    response = await upload(guarded, ("good.md", GOOD_MD), (name, content))

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["success"] is False
    assert list(body["errors"]) == [name], "the good file of the same upload is not blamed"
    assert reason in body["errors"][name]
    assert name in body["error"]
    assert await stored(guarded) == before
    assert peak_rss_bytes() - peak < MEMORY_GROWTH_LIMIT
    # A file that would keep a parser busy is cut off at the time limit, not waited out.
    assert time.monotonic() - started < TIMEOUT_SECONDS + 30


@pytest.mark.asyncio(loop_scope="module")
async def test_after_the_hostile_files_a_good_upload_is_stored_and_served(
    guarded: RunningService,
) -> None:
    response = await upload(guarded, ("parking.md", GOOD_MD))
    assert response.status_code == 200, response.text
    assert response.json()["uploaded"] == {"parking.md": 1}


@pytest.mark.asyncio(loop_scope="module")
async def test_the_openapi_schema_still_describes_the_multipart_upload(
    guarded: RunningService,
) -> None:
    schema = (await guarded.http.get(guarded.url + "/openapi.json")).json()
    body = schema["paths"]["/files/upload"]["post"]["requestBody"]
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["files"]
    assert form["properties"]["files"]["type"] == "array"
    assert form["properties"]["files"]["items"]["format"] == "binary"


# -- the memory limit, when a file slips past the caps ----


async def test_the_memory_limit_stops_a_file_the_caps_let_through(data_dir: Path) -> None:
    settings = guarded_settings(
        data_dir, parse_max_merged_cells=10**12, parse_memory_mb=300, parse_timeout_seconds=60
    )
    async with running_service(settings) as service:
        before = await stored(service)
        peak = peak_rss_bytes()
        response = await upload(service, ("merged.xlsx", hostile.merged_range_workbook()))
        assert response.status_code == 422, response.text
        assert "300 MB memory limit" in response.json()["errors"]["merged.xlsx"]
        assert await stored(service) == before
        assert peak_rss_bytes() - peak < MEMORY_GROWTH_LIMIT
        # The service is unharmed: the next file is read by a fresh child.
        assert (await upload(service, ("parking.md", GOOD_MD))).status_code == 200
