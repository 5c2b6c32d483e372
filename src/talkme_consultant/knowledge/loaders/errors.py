"""The one error every loader raises."""

from __future__ import annotations


class LoaderError(Exception):
    """A file could not be turned into records; says which file and why, in plain words."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
