"""The basics of one business profile: questions read and answered with no model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from talkme_consultant.answer.basics import BasicsQuestion, branches_named, lean_on, read_basics
from talkme_consultant.answer.basics_wording import word_basics
from talkme_consultant.profile import BusinessProfile


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ProfileBasics:
    """Answers basics questions from one profile; the offline answerer asks it before searching."""

    def __init__(self, profile: BusinessProfile, now: Callable[[], datetime] = _utc_now) -> None:
        self._profile = profile
        self._now = now

    def today(self) -> date:
        """The business's local date (its profile `timezone`)."""
        return self._now().astimezone(self._profile.zone()).date()

    def reply(self, text: str) -> str | None:
        """The answer to `text` when it is a basics question, else None."""
        question = self.read(text)
        if question is None:
            return None
        return self.answer(question)

    def read(self, text: str) -> BasicsQuestion | None:
        """`read_basics` with this profile: the question on its own words."""
        return read_basics(text, self._profile)

    def answer(self, question: BasicsQuestion) -> str | None:
        """The answer to a question already understood (see `lean_on`); None when empty."""
        return word_basics(question, self._profile, self.today()) or None

    def lean_on(
        self, text: str, earlier: BasicsQuestion | None, branch: str | None
    ) -> BasicsQuestion | None:
        """`lean_on` with this profile."""
        return lean_on(text, self._profile, earlier, branch)

    def branches_named(self, text: str) -> list[str]:
        """`branches_named` with this profile."""
        return branches_named(text, self._profile)
