"""Folders and files only their owner may read: DATA_DIR holds tokens, phone numbers and leads.

Pure filesystem code, no imports from the rest of the app.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SECRET_BYTES = 32

# SQLite keeps a database in up to four files; each holds the same data as the main one.
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700, or take group and world access away from it
    if it already exists with looser permissions. Returns the path."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def make_private_file(path: Path) -> None:
    """Create `path` empty as 0600 unless it exists; either way leave it readable by its owner
    only. Creating it first means nothing that opens it later can give it wider permissions."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        # Never opened for writing just to fix its mode: it may be read-only on purpose.
        _tighten(path, PRIVATE_FILE_MODE)
    else:
        os.close(descriptor)


def shared_secret(path: Path, size: int = SECRET_BYTES) -> bytes:
    """The random secret kept in `path` (hex, 0600), made with `size` bytes the first time.

    Processes starting at once agree on it: each writes a candidate into a private temporary
    file beside `path` and hard-links it to `path`, which never replaces an existing file, so
    the first link wins whole (never half-written) and the others read the winner's. The folder
    must exist. A file that holds no such secret raises ValueError naming it rather than being
    replaced: replacing it would sign everyone out and hide the damage.
    """
    try:
        return _read_secret(path, size)
    except FileNotFoundError:
        pass
    candidate = secrets.token_bytes(size)
    # mkstemp creates the file 0600, so the secret is never readable by others, even briefly.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(candidate.hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_secret(path, size)
    finally:
        os.unlink(temporary)
    return candidate


def _read_secret(path: Path, size: int) -> bytes:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    _tighten(path, PRIVATE_FILE_MODE)  # a copied or restored file may be readable by others
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < size:
        raise ValueError(
            f"{path} holds no secret of {size} bytes in hex: restore it, or delete it to have "
            "a new one made"
        )
    return secret


def tighten_sqlite_files(database: Path) -> None:
    """Make the SQLite database and whichever of its side files exist 0600."""
    for candidate in (database, *(Path(f"{database}{s}") for s in SQLITE_SIDE_SUFFIXES)):
        try:
            _tighten(candidate, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue


def _tighten(path: Path, mode: int) -> None:
    info = path.stat()
    current = stat.S_IMODE(info.st_mode)
    # Only ever take permissions away: a stricter mode the owner chose is kept.
    if not current & ~mode:
        return
    if info.st_uid != os.geteuid():
        # Someone else's folder (a shared mount, /srv): not ours to change.
        log.warning("%s is readable by others and not ours to tighten", path)
        return
    try:
        path.chmod(current & mode)
    except OSError as error:
        log.warning("could not make %s private: %s", path, error.strerror or error)
