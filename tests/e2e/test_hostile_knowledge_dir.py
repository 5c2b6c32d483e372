"""A hostile file in KNOWLEDGE_DIR never stops the service: it starts, serves every other file, and
shows the bad one with its reason in `/knowledge-base/status` — at start-up and when the file is
dropped into the folder while the service runs.
"""

from __future__ import annotations

import resource
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from tests.support import hostile_files as hostile
from tests.support.eventually import eventually
from tests.support.service import RunningService, running_service, service_settings

MEGABYTE = 1024 * 1024
TIMEOUT_SECONDS = 3.0
MEMORY_GROWTH_LIMIT = 150 * MEGABYTE

HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "bomb.xlsx": (lambda: hostile.zip_bomb_workbook(400), "unpacks to 400.0 MB"),
    "laughs.docx": (hostile.billion_laughs_document, "XML entities"),
    "merged.xlsx": (hostile.merged_range_workbook, "merged cell ranges cover"),
    "broken.xlsx": (hostile.broken_xml_workbook, "XML inside the workbook is broken"),
    "broken.docx": (hostile.broken_xml_document, "damaged"),
    "slow.pdf": (hostile.slow_pdf, f"longer than the {TIMEOUT_SECONDS:g}-second limit"),
}


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def sample_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(SAMPLE_KNOWLEDGE_DIR, folder)
    return folder


async def status(service: RunningService) -> dict[str, Any]:
    result: dict[str, Any] = await service.admin_get("/knowledge-base/status")
    return result


async def top_file(service: RunningService, query: str) -> str:
    hits = await service.runtime.knowledge.search(query, k=3)
    return hits[0].record.source.file if hits else ""


async def test_the_service_starts_with_hostile_files_in_the_folder_and_serves_the_rest(
    data_dir: Path, tmp_path: Path
) -> None:
    folder = sample_copy(tmp_path)
    for name, (build, _) in HOSTILE.items():
        (folder / name).write_bytes(build())
    settings = service_settings(
        data_dir, None, knowledge_dir=folder, parse_timeout_seconds=TIMEOUT_SECONDS
    )
    peak = peak_rss_bytes()

    async with running_service(settings) as service:
        current = await status(service)
        assert current["ready"] is True
        errors = current["file_errors"]
        assert sorted(errors) == sorted(HOSTILE), "each hostile file, and only those, has an error"
        for name, (_, reason) in HOSTILE.items():
            assert reason in errors[name], (name, errors[name])
        sample_files = [p for p in SAMPLE_KNOWLEDGE_DIR.iterdir() if p.is_file()]
        assert current["files"] == len(sample_files) + len(HOSTILE)
        assert current["records"] > 50, "the sample knowledge is served"
        assert await top_file(service, "Сколько стоит мужская стрижка?") == "prices.xlsx"
        listed = {f["filename"]: f for f in (await service.admin_get("/files"))["files"]}
        assert all(listed[name]["records"] == 0 for name in HOSTILE)
    assert peak_rss_bytes() - peak < MEMORY_GROWTH_LIMIT


async def test_a_hostile_file_dropped_in_while_running_is_reported_and_the_index_keeps_serving(
    data_dir: Path, tmp_path: Path
) -> None:
    folder = sample_copy(tmp_path)
    settings = service_settings(data_dir, None, knowledge_dir=folder)
    async with running_service(settings) as service:
        before = await status(service)
        assert before["file_errors"] == {}

        (folder / "merged.xlsx").write_bytes(hostile.merged_range_workbook())
        (folder / "laughs.docx").write_bytes(hostile.billion_laughs_document())

        async def reported() -> dict[str, Any]:
            current = await status(service)
            assert set(current["file_errors"]) == {"merged.xlsx", "laughs.docx"}
            assert not current["rebuilding"]
            assert current["version"] == current["stored_version"]
            return current

        current = await eventually(reported, what="the hostile files reported in the status")
        assert "merged cell ranges cover" in current["file_errors"]["merged.xlsx"]
        assert current["ready"] is True
        assert current["records"] == before["records"], "the rest is served as before"
        assert await top_file(service, "Сколько стоит мужская стрижка?") == "prices.xlsx"


async def test_a_file_over_the_size_limit_is_never_read_and_is_reported(
    data_dir: Path, tmp_path: Path
) -> None:
    folder = sample_copy(tmp_path)
    huge = folder / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(200 * MEGABYTE)  # sparse: large to the service, free on the disk
    peak = peak_rss_bytes()

    async with running_service(service_settings(data_dir, None, knowledge_dir=folder)) as service:
        current = await status(service)
        assert current["ready"] is True
        assert "larger than the" in current["file_errors"]["huge.txt"]
        assert await top_file(service, "Сколько стоит мужская стрижка?") == "prices.xlsx"
    assert peak_rss_bytes() - peak < MEMORY_GROWTH_LIMIT
