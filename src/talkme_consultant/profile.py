"""The business profile: who the bot speaks for, written by the owner in YAML.

The profile holds what is true about the business outside the knowledge base (branches,
contacts, hours), how to speak (tone, forbidden things), what to do about bookings and
handoffs, and the ready-made texts. The answerers put it in their prompts; the grounding guard
treats `facts_text()` as a source, so every phone, hour and link written here may be quoted.

Unknown keys are errors, not silently ignored: a misspelt `handof:` would otherwise switch the
handoff rules off without anyone noticing.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# How the usual keys of `hours` read in a sentence; other keys are shown as written.
_HOURS_LABELS = {
    "daily": "ежедневно",
    "weekdays": "пн–пт",
    "weekends": "сб–вс",
    "monday": "пн",
    "tuesday": "вт",
    "wednesday": "ср",
    "thursday": "чт",
    "friday": "пт",
    "saturday": "сб",
    "sunday": "вс",
}


class ProfileError(ValueError):
    """The profile file is missing or wrong; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Branch(_Strict):
    """One place where the business receives visitors."""

    id: str
    name: str
    address: str
    metro: list[str] = Field(default_factory=list)
    phone: str | None = None
    # Either one line ("ежедневно с 10:00 до 22:00") or labelled lines (weekdays, saturday, ...).
    hours: str | dict[str, str] | None = None
    parking: str | None = None
    # How the branch works on public holidays, one line ("1 января — выходной, в остальные
    # праздники — как в воскресенье"); without it the bot says it does not know and gives the phone.
    holidays: str | None = Field(default=None, min_length=1, max_length=500)

    def hours_text(self) -> str:
        """The opening hours as one line."""
        if self.hours is None:
            return ""
        if isinstance(self.hours, str):
            return self.hours
        return ", ".join(
            f"{_HOURS_LABELS.get(day, day)} {hours}" for day, hours in self.hours.items()
        )


class Contacts(_Strict):
    """Contacts that are not tied to one branch."""

    email: str | None = None
    website: str | None = None
    telegram: str | None = None
    whatsapp: str | None = None
    phone: str | None = None
    messengers_hours: str | None = None


class Tone(_Strict):
    """How to speak to visitors."""

    address_form: Literal["вы", "ты"] = "вы"
    style: str = ""
    emoji: str | None = None
    max_sentences: int | None = Field(default=None, ge=1, le=20)


class Booking(_Strict):
    """What to tell a visitor who wants to book (the bot never books by itself)."""

    instructions: str = ""
    ask_for: list[str] = Field(default_factory=list)
    callback_time: str | None = None


class Handoff(_Strict):
    """When a person should take over."""

    triggers: list[str] = Field(default_factory=list)


class Messages(_Strict):
    """Ready-made texts the bot sends as they are; the defaults are neutral Russian phrasing."""

    greeting: str = "Здравствуйте! Чем могу помочь?"
    thanks: str = "Пожалуйста! Если появятся ещё вопросы, пишите."
    acknowledge: str = "Хорошо! Если появятся вопросы, пишите — я на связи."
    goodbye: str = "Спасибо за обращение! Хорошего дня!"
    handoff: str = "Передаю ваш вопрос администратору — он ответит здесь в ближайшее время."
    unknown: str = (
        "Точного ответа на этот вопрос у меня нет. Передаю его администратору — "
        "он ответит здесь в ближайшее время."
    )
    attachment: str = (
        "Я не умею открывать файлы и фотографии, поэтому передаю сообщение администратору."
    )
    off_topic: str = (
        "С этим помочь не смогу — я отвечаю на вопросы о наших услугах. Что вас интересует?"
    )
    booking: str = "Чтобы записаться, оставьте, пожалуйста, имя и номер телефона."
    lead_accepted: str = "Спасибо! Передаю ваш номер администратору, он вам перезвонит."


class BusinessProfile(_Strict):
    """Everything the owner tells the bot about the business."""

    name: str
    short_name: str | None = None
    description: str = ""
    language: str = "ru"
    # IANA time zone of the business ("Europe/Moscow"); its midnight renews the daily budgets.
    timezone: str | None = None
    branches: list[Branch] = Field(default_factory=list)
    contacts: Contacts = Field(default_factory=Contacts)
    tone: Tone = Field(default_factory=Tone)
    must_not: list[str] = Field(default_factory=list)
    booking: Booking = Field(default_factory=Booking)
    handoff: Handoff = Field(default_factory=Handoff)
    messages: Messages = Field(default_factory=Messages)

    @field_validator("name")
    @classmethod
    def _name_not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Moscow"
            ) from None
        return value

    def zone(self) -> tzinfo:
        """The business's time zone (UTC when the profile names none)."""
        return ZoneInfo(self.timezone) if self.timezone else UTC

    def facts_text(self) -> str:
        """Every fact of the profile as plain text, one fact group a line.

        Used as a grounding source (every phone, hour, link and number here may be quoted) and
        as the "public" part of the system prompt that a reply may repeat word for word.
        """
        lines = [f"Название: {self.name}" + (f" ({self.short_name})" if self.short_name else "")]
        if self.description:
            lines.append(f"О нас: {self.description}")
        for branch in self.branches:
            parts = [f"адрес: {branch.address}"]
            if branch.metro:
                parts.append("метро: " + ", ".join(branch.metro))
            if branch.phone:
                parts.append(f"телефон: {branch.phone}")
            if hours := branch.hours_text():
                parts.append(f"часы работы: {hours}")
            if branch.parking:
                parts.append(f"парковка: {branch.parking}")
            if branch.holidays:
                parts.append(f"в праздничные дни: {branch.holidays}")
            lines.append(f"{branch.name}: " + "; ".join(parts))
        contacts = [
            f"{label}: {value}"
            for label, value in (
                ("телефон", self.contacts.phone),
                ("e-mail", self.contacts.email),
                ("сайт", self.contacts.website),
                ("Telegram", self.contacts.telegram),
                ("WhatsApp", self.contacts.whatsapp),
                ("в мессенджерах отвечают", self.contacts.messengers_hours),
            )
            if value
        ]
        if contacts:
            lines.append("Контакты: " + "; ".join(contacts))
        if self.booking.instructions:
            lines.append(f"Как записаться: {self.booking.instructions}")
        if self.booking.ask_for:
            lines.append("Для записи нужны: " + ", ".join(self.booking.ask_for))
        if self.booking.callback_time:
            lines.append(f"Администратор перезвонит: {self.booking.callback_time}")
        # The ready-made texts are the owner's words too; a reply may repeat what they say.
        lines.append("Готовые ответы бота:")
        lines += [text for text in self.messages.model_dump().values() if text]
        return "\n".join(lines)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_profile(path: Path | str) -> BusinessProfile:
    """Read and validate the profile YAML; raises `ProfileError` naming the file and the field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: business profile file not found") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the business profile ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProfileError(f"{path}: not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: expected a mapping of profile fields at the top level")
    try:
        return BusinessProfile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(error['loc'])}: {error['msg']}" for error in exc.errors())
        raise ProfileError(f"{path}: invalid business profile: {problems}") from None
