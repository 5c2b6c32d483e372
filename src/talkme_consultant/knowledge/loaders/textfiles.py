"""Reading text files whose encoding nobody wrote down (UTF-8, UTF-8 with BOM, cp1251...)."""

from __future__ import annotations

from pathlib import Path

from talkme_consultant.knowledge.loaders.errors import LoaderError


def read_text(path: Path, name: str) -> str:
    """Decode a text file: UTF-8 (with or without BOM) first, else charset-normalizer's guess.

    UTF-8 is tried strictly first because charset detection on short Russian texts sometimes
    prefers a single-byte code page for perfectly valid UTF-8.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(name, f"cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise LoaderError(name, "the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["cp1251", "koi8_r", "utf_16", "cp866", "latin_1"]).best()
    if best is None:
        raise LoaderError(name, "the text encoding could not be recognised")
    return str(best)
