"""The booking dialogue's work as two functions a language model may call in one turn.

`find_free_times(service, master?, when?)` and `make_booking(service, master?, datetime, name,
phone)` run the booking dialogue's own code (`booking.py`): services and masters matched by
`booking_match.py`, the wish read by `when.py`, up to five free times nearest to it, and a
booking only at a time the calendar has free, with a phone the visitor wrote, `book_check`, the
intent in the ledger under our `api_id`, `book_record`, the record id kept. So a model books
nothing the dialogue would not; a turn retried after a crash finds its booking in the ledger.

What the model is shown is JSON of our own words and the calendar's titles and times: never a
token, never an error's text. Phones never reach the log. The engine asks `booked` whether a
record was made in this turn: only then may the reply say so, and the turn is kept as the
dialogue keeps a booking (`settle`).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from talkme_consultant.dialog import booking_texts as say
from talkme_consultant.dialog.booking import (
    BookingInput,
    BookingOptions,
    BookingTurns,
    booking_api_id,
    booking_request,
    free_times,
    record_booked,
)
from talkme_consultant.dialog.booking_match import match_services, read_master, wants_any_master
from talkme_consultant.dialog.booking_state import BOOKING_META, BookingState, BookingStep
from talkme_consultant.dialog.splitting import split_message
from talkme_consultant.dialog.when import read_wish
from talkme_consultant.helpers.calendar import (
    ANY_MASTER,
    BookingLedger,
    Calendar,
    CalendarError,
    CalendarFailure,
    CalendarService,
)
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnEvent, TurnOutcome
from talkme_consultant.helpers.phones import extract_phones, normalize_phone

log = logging.getLogger(__name__)

# A bot message's meta flag: the model used the booking tools in that turn, so the next message
# («запишите на 16:00, Иван, +7…») goes to the model, not to a new booking dialogue.
TOOLS_META = "booking_tools"
FIND_FREE_TIMES = "find_free_times"
MAKE_BOOKING = "make_booking"
MAX_NAME_CHARS = 60

_SERVICE = {"type": "string", "description": "Услуга словами посетителя или её название."}
_MASTER = {
    "type": ["string", "null"],
    "description": "Имя мастера, если посетитель его назвал; иначе null (любой мастер).",
}
TOOL_DEFINITIONS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": FIND_FREE_TIMES,
            "description": (
                "Свободное время в календаре салона на услугу: до пяти времён, ближайших к "
                "пожеланию посетителя."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "service": _SERVICE,
                    "master": _MASTER,
                    "when": {
                        "type": ["string", "null"],
                        "description": (
                            "Когда посетитель хочет прийти, его словами: «завтра после обеда», "
                            "«в субботу к 15:00»; null — в ближайшие дни."
                        ),
                    },
                },
                "required": ["service"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": MAKE_BOOKING,
            "description": (
                "Записать посетителя в календарь салона на свободное время из find_free_times. "
                "Возвращает номер записи или причину отказа."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "service": _SERVICE,
                    "master": _MASTER,
                    "datetime": {
                        "type": "string",
                        "description": "Время из find_free_times, как оно там дано (ISO 8601).",
                    },
                    "name": {"type": "string", "description": "Имя посетителя."},
                    "phone": {
                        "type": "string",
                        "description": "Телефон, который посетитель сам написал в чате.",
                    },
                },
                "required": ["service", "datetime", "name", "phone"],
                "additionalProperties": False,
            },
        },
    },
]


class FindArguments(BaseModel):
    """What `find_free_times` takes."""

    service: str = Field(min_length=1, max_length=200)
    master: str | None = Field(default=None, max_length=100)
    when: str | None = Field(default=None, max_length=200)


class BookArguments(BaseModel):
    """What `make_booking` takes."""

    service: str = Field(min_length=1, max_length=200)
    master: str | None = Field(default=None, max_length=100)
    datetime: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=64)


class _Refusal(Exception):
    """A call that cannot be done as asked; the message tells the model why, in plain words."""

    def __init__(self, reason: str, status: str) -> None:
        super().__init__(reason)
        self.status = status


class BookingTools:
    """One turn's booking tools (`answer.base.ReplyTools`): what they found, did and refused."""

    def __init__(
        self,
        calendar: Calendar,
        ledger: BookingLedger | None,
        options: BookingOptions,
        given: BookingInput,
        visitor_texts: Sequence[str],
        today: date,
    ) -> None:
        """`visitor_texts`: everything the visitor wrote that the bot remembers, this turn's
        message too; a booking's phone must be one of theirs."""
        self._calendar = calendar
        self._ledger = ledger
        self._options = options
        self._given = given
        self.today = today
        phones = [phone for text in visitor_texts for phone in extract_phones(text)]
        self._phones = {*phones, *([given.phone] if given.phone else [])}
        self._attempts = 0
        self.used = 0  # calls made in this turn
        self.calendar_failed = False
        self.facts: list[str] = []  # every result shown to the model: what the reply may say
        self.events: list[TurnEvent] = []
        self.booked: BookingState | None = None  # the record made in this turn, if any
        self.retried = False  # the record was made by an earlier try of this turn

    def definitions(self) -> list[dict[str, Any]]:
        """The two functions with their JSON schemas."""
        return copy.deepcopy(TOOL_DEFINITIONS)  # a copy the caller may not spoil

    async def call(self, name: str, arguments: str) -> str:
        """Run one call; a refusal, a bad argument or a failed calendar is told in words."""
        self.used += 1
        try:
            if name == FIND_FREE_TIMES:
                result = await self._find(FindArguments.model_validate_json(arguments))
            elif name == MAKE_BOOKING:
                result = await self._book(BookArguments.model_validate_json(arguments))
            else:
                raise _Refusal(f"Функции {name[:40]} нет.", "unknown_tool")
            status = "ok"
        except ValidationError:
            status = "bad_arguments"
            result = _refused("Аргументы не подходят к описанию функции: проверь поля и их типы.")
        except _Refusal as refusal:
            status = refusal.status
            result = _refused(str(refusal))
        except CalendarError as error:
            status = "calendar_failed"
            self.calendar_failed = True
            self.events.append(_event(status="calendar_failed", error=str(error)))
            result = _refused(
                "Календарь салона сейчас не отвечает. Не обещай запись: предложи оставить имя и "
                "телефон, администратор перезвонит и подтвердит время."
            )
        # Never the arguments: they hold the visitor's phone.
        log.info("booking tool %s: %s", name[:40], status)
        text = json.dumps(result, ensure_ascii=False)
        self.facts.append(text)
        return text

    # --- the functions --------------------------------------------------------------------------

    async def _find(self, arguments: FindArguments) -> dict[str, Any]:
        service = await _service(self._calendar, arguments.service)
        staff_id, master = await _master(self._calendar, service, arguments.master)
        wish = read_wish(arguments.when or "", self.today)
        state = BookingState(
            step=BookingStep.TIME,
            service_id=service.id,
            service=service.title,
            staff_id=staff_id,
            master=master,
        ).with_wish(wish)
        times, missed = await free_times(self._calendar, state, self.today)
        result: dict[str, Any] = {
            "service": service.title,
            "master": master or "любой",
            "times": [self._time(at) for at in times],
        }
        if not times:
            self.events.append(_event(status="nothing_free"))
            result["note"] = "В ближайшие дни свободного времени на эту услугу нет."
        elif missed:
            result["note"] = f"На {wish.label} свободного времени нет; это ближайшее другое время."
        return result

    async def _book(self, arguments: BookArguments) -> dict[str, Any]:
        if self.booked is not None:
            # A second call in the same turn (a guard's second try): the record already made.
            return self._made(self.booked, note="Запись уже создана в этом разговоре.")
        service = await _service(self._calendar, arguments.service)
        staff_id, master = await _master(self._calendar, service, arguments.master)
        at = _datetime(arguments.datetime, self._options.zone)
        phone = normalize_phone(arguments.phone)
        if phone is None:
            raise _Refusal(
                "Телефон не похож на номер. Попроси посетителя написать номер полностью.",
                "bad_phone",
            )
        if phone not in self._phones:
            raise _Refusal(
                "Этот телефон посетитель не писал. Попроси его написать номер для записи.",
                "foreign_phone",
            )
        name = " ".join(arguments.name.split())[:MAX_NAME_CHARS]
        if not name:
            raise _Refusal("Нужно имя посетителя: спроси, как его зовут.", "no_name")
        state = BookingState(
            step=BookingStep.CONTACT,
            service_id=service.id,
            service=service.title,
            staff_id=staff_id,
            master=master,
            offered=[at],
            chosen=at,
            name=name,
            phone=phone,
        )
        return await self._record(state)

    async def _record(self, state: BookingState) -> dict[str, Any]:
        """The ledger asked first (a turn retried after a crash finds the record it made), the
        time checked free, then the dialogue's order: the intent kept, `book_check`,
        `book_record`, the record id kept — so one turn never books twice."""
        assert state.service_id is not None and state.chosen is not None
        assert state.name is not None and state.phone is not None
        api_id = booking_api_id(self._given.conversation_key, self._given.position, self._attempts)
        if self._ledger is not None:
            prior = await self._ledger.find(api_id)
            if prior is not None and prior.record_id is not None:
                # An earlier try of this very turn booked it (and then crashed): that record.
                self.retried = True
                kept = BookingState.model_validate_json(prior.details)
                return self._made(_done(kept, prior.record_id))
        free = await self._calendar.times(
            state.service_id, state.staff_id or ANY_MASTER, state.chosen.date()
        )
        if state.chosen not in free:
            raise _Refusal(_not_free(state.chosen, free, self.today, taken=False), "not_free")
        # Each booking tried in a turn has an id of its own: a time taken, then another.
        self._attempts += 1
        request = booking_request(state, api_id)
        if self._ledger is not None:
            prior = await self._ledger.begin(
                api_id, self._given.conversation_key, state.model_dump_json()
            )
            if prior is not None and prior.record_id is not None:
                kept = BookingState.model_validate_json(prior.details)
                self.retried = True
                return self._made(_done(kept, prior.record_id))
            if prior is not None:
                # An earlier try of this turn began this booking and ended before the calendar's
                # answer was kept: the record may exist. A free time means it does not.
                kept = BookingState.model_validate_json(prior.details)
                assert kept.chosen is not None and kept.service_id is not None
                free = await self._calendar.times(
                    kept.service_id, kept.staff_id or ANY_MASTER, kept.chosen.date()
                )
                if kept.chosen not in free:
                    self.events.append(_event(status="unknown", api_id=api_id))
                    raise _Refusal(
                        "Не удаётся проверить, создана ли запись. Не обещай её: скажи, что "
                        "администратор проверит и напишет посетителю.",
                        "unknown",
                    )
        try:
            await self._calendar.check(request)
            made = await self._calendar.record(request)
        except CalendarError as error:
            if error.failure not in (CalendarFailure.SLOT_TAKEN, CalendarFailure.REJECTED):
                raise
            self.events.append(_event(status="slot_taken", at=state.chosen.isoformat()))
            free = await self._calendar.times(
                state.service_id, request.staff_id, state.chosen.date()
            )
            raise _Refusal(
                _not_free(state.chosen, free, self.today, taken=True), "slot_taken"
            ) from None
        if self._ledger is not None:
            await self._ledger.made(api_id, made.record_id)
        return self._made(_done(state, made.record_id))

    # --- parts ----------------------------------------------------------------------------------

    def _time(self, at: datetime) -> dict[str, str]:
        return {"datetime": at.isoformat(), "label": say.time_line(at, self.today)}

    def _made(self, done: BookingState, note: str = "") -> dict[str, Any]:
        assert done.chosen is not None
        self.booked = done
        result: dict[str, Any] = {
            "ok": True,
            "record_id": done.record_id,
            "service": done.service,
            "master": done.master or "любой",
            **self._time(done.chosen),
        }
        if self._options.address:
            result["address"] = self._options.address
        if note:
            result["note"] = note
        return result

    # --- the turn's outcome --------------------------------------------------------------------

    def settle(self, outcome: TurnOutcome, *, keep_reply: bool) -> None:
        """Add what the tools did to the turn: their events, and a record made kept exactly as
        the dialogue keeps one (meta, event, lead «записан»). Unless `keep_reply` (the model's
        reply passed every check and tells of the booking), the visitor gets the dialogue's own
        confirmation: a record was made, and the visitor must hear it."""
        outcome.events.extend(self.events)
        done = self.booked
        if self.used and done is None:
            outcome.meta[TOOLS_META] = True
        if done is None:
            return
        assert done.chosen is not None
        record_booked(outcome, done, self.today, retried=self.retried)
        outcome.meta["intent"] = "booking"
        outcome.meta[BOOKING_META] = done.model_dump(mode="json")
        outcome.visitor_name = done.name
        outcome.phone = done.phone
        if not keep_reply:
            text = say.booked(
                done.name or "",
                done.service,
                done.master,
                done.chosen,
                self.today,
                self._options.address,
            )
            outcome.replies = split_message(text, self._options.max_message_chars)


async def _service(calendar: Calendar, words: str) -> CalendarService:
    """The calendar's one service the model named; a refusal naming the choices otherwise."""
    services = await calendar.services()
    exact = [s for s in services if s.title.casefold() == words.strip().casefold()]
    fits = exact or match_services(words, services)
    if len(fits) == 1:
        return fits[0]
    if fits:
        titles = "; ".join(f"«{s.title}»" for s in fits[: say.MAX_OFFERED])
        raise _Refusal(
            f"Подходят несколько услуг: {titles}. Уточни у посетителя, какая нужна.",
            "which_service",
        )
    titles = "; ".join(f"«{s.title}»" for s in services)
    raise _Refusal(f"Такой услуги нет в онлайн-записи. Есть: {titles}.", "no_service")


async def _master(
    calendar: Calendar, service: CalendarService, words: str | None
) -> tuple[int, str]:
    """The master named for the service (id and name), or any master when none was named."""
    if not words or not words.strip() or wants_any_master(words):
        return ANY_MASTER, ""
    masters = await calendar.masters(service.id)
    master = read_master(words, masters)
    if master is None:
        names = ", ".join(m.name for m in masters) or "нет"
        raise _Refusal(
            f"Такого мастера на «{service.title}» нет. Мастера этой услуги: {names}.",
            "no_master",
        )
    return master.id, master.name


def _datetime(text: str, zone: tzinfo) -> datetime:
    """A time as `find_free_times` gave it, in the business's zone."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _Refusal(
            "Время не прочитано: передай его так, как его вернул find_free_times.", "bad_time"
        ) from None
    return at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)


def _not_free(at: datetime, free: Sequence[datetime], today: date, *, taken: bool) -> str:
    """Why no record was made at `at`, with the nearest free times of that day."""
    label = say.time_line(at, today)
    why = "только что заняли" if taken else "не свободно"
    near = sorted(free, key=lambda other: abs((other - at).total_seconds()))
    others = "; ".join(
        f"{say.time_line(o, today)} ({o.isoformat()})" for o in sorted(near[: say.MAX_OFFERED])
    )
    rest = f" Свободно в этот день: {others}." if others else " В этот день свободного нет."
    return f"Время {label} {why}; запись не сделана.{rest}"


def model_is_booking(meta: Mapping[str, Any] | None) -> bool:
    """True when a bot message's turn was the model booking with its tools, not yet booked."""
    return bool(meta and meta.get(TOOLS_META) is True)


def _done(state: BookingState, record_id: int) -> BookingState:
    return state.model_copy(update={"step": BookingStep.BOOKED, "record_id": record_id})


def _refused(reason: str) -> dict[str, Any]:
    return {"ok": False, "reason": reason}


def _event(**data: Any) -> TurnEvent:
    return TurnEvent(EventKind.BOOKING, {"by": "model", **data})


def tools_for(
    turns: BookingTurns, given: BookingInput, visitor_texts: Sequence[str]
) -> BookingTools | None:
    """The booking tools of one turn, or None when there is no calendar to book in (then a
    wish to book stays a lead, as without a model)."""
    if turns.calendar is None:
        return None
    return BookingTools(
        turns.calendar, turns.ledger, turns.options, given, visitor_texts, turns.today()
    )
