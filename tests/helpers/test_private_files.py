"""DATA_DIR, the database files and the secrets kept there are readable by the service's own
user only."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import stat
from pathlib import Path
from typing import Any

import pytest

from talkme_consultant.helpers.private_files import (
    ensure_private_dir,
    make_private_file,
    shared_secret,
    tighten_sqlite_files,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_dir_is_created_owner_only_with_its_missing_parents(tmp_path: Path) -> None:
    target = tmp_path / "srv" / "data"
    ensure_private_dir(target)
    assert target.is_dir()
    assert mode(target) == 0o700


def test_an_existing_data_dir_open_to_others_is_tightened(tmp_path: Path) -> None:
    target = tmp_path / "data"
    target.mkdir()
    target.chmod(0o755)
    ensure_private_dir(target)
    assert mode(target) == 0o700


def test_a_stricter_mode_the_owner_chose_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "data"
    target.mkdir()
    target.chmod(0o500)
    ensure_private_dir(target)
    assert mode(target) == 0o500
    target.chmod(0o700)


def test_a_private_file_is_created_0600_and_an_existing_one_keeps_its_content(
    tmp_path: Path,
) -> None:
    fresh = tmp_path / "fresh"
    make_private_file(fresh)
    assert mode(fresh) == 0o600 and fresh.read_bytes() == b""

    existing = tmp_path / "existing"
    existing.write_text("token\n")
    existing.chmod(0o644)
    make_private_file(existing)
    assert mode(existing) == 0o600
    assert existing.read_text() == "token\n"


def test_every_file_of_a_sqlite_database_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "talkme.sqlite3"
    files = [database, tmp_path / "talkme.sqlite3-wal", tmp_path / "talkme.sqlite3-shm"]
    for path in files:
        path.write_bytes(b"x")
        path.chmod(0o644)
    tighten_sqlite_files(database)  # and no complaint about the missing -journal
    assert [mode(path) for path in files] == [0o600, 0o600, 0o600]


def test_a_shared_secret_is_made_once_owner_only_and_read_back_ever_after(tmp_path: Path) -> None:
    path = tmp_path / "console_key"
    made = shared_secret(path)
    assert len(made) == 32 and mode(path) == 0o600
    assert shared_secret(path) == made
    assert [p.name for p in tmp_path.iterdir()] == ["console_key"], "no temporary file is left"
    path.chmod(0o644)
    assert shared_secret(path) == made and mode(path) == 0o600, "a loosened file is tightened"


def test_processes_making_a_shared_secret_at_once_all_get_the_first_one(tmp_path: Path) -> None:
    path = tmp_path / "console_key"
    context = multiprocessing.get_context("spawn")
    with (
        context.Manager() as manager,
        concurrent.futures.ProcessPoolExecutor(8, mp_context=context) as pool,
    ):
        # Every process says it is there, then waits for one signal: they race for the file.
        waiting, start = manager.Queue(), manager.Event()
        made = [pool.submit(_secret_when, path, waiting, start) for _ in range(8)]
        for _ in made:
            waiting.get(timeout=60)
        start.set()
        secrets = {future.result(timeout=60) for future in made}
    assert secrets == {path_secret(path)}
    assert mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["console_key"]


def test_a_damaged_secret_file_is_named_rather_than_replaced(tmp_path: Path) -> None:
    path = tmp_path / "console_key"
    path.write_text("not hex\n")
    with pytest.raises(ValueError, match="console_key"):
        shared_secret(path)
    assert path.read_text() == "not hex\n"


def path_secret(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def _secret_when(path: Path, waiting: Any, start: Any) -> bytes:
    waiting.put(True)
    start.wait(timeout=60)
    return shared_secret(path)
