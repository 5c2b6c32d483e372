"""DATA_DIR and the database files are readable by the service's own user only."""

from __future__ import annotations

import stat
from pathlib import Path

from talkme_consultant.helpers.private_files import (
    ensure_private_dir,
    make_private_file,
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
