"""The booking dialogue: from «хочу записаться…» to a record in the calendar, or to a lead with
the wished service and time when there is no calendar or it is down.

A turn is a booking turn when the message asks to be booked (`booking_intent.py`) or answers the
bot's open booking question (`BOOKING_META` in the last bot message's meta). Each turn reads what
it can from the message (service, master, wished time, the choice of a time, name and phone),
asks for the first thing still missing, and books once everything is there: `book_check`, the
intent kept in the ledger, `book_record`, the record id kept. The ledger (the store) makes a
turn retried after a crash find the booking it already made instead of making a second one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from talkme_consultant.dialog import booking_texts as say
from talkme_consultant.dialog.booking_intent import wants_to_book
from talkme_consultant.dialog.booking_match import (
    match_services,
    may_name_master,
    read_master,
    read_name,
    wants_any_master,
    wished_service,
)
from talkme_consultant.dialog.booking_state import (
    BOOKING_META,
    BookingState,
    BookingStep,
    ServiceOption,
    pending_booking,
)
from talkme_consultant.dialog.choice import read_choice
from talkme_consultant.dialog.splitting import split_message
from talkme_consultant.dialog.when import Wish, read_wish
from talkme_consultant.helpers.calendar import (
    ANY_MASTER,
    BookingLedger,
    BookingRequest,
    Calendar,
    CalendarError,
    CalendarFailure,
)
from talkme_consultant.helpers.kinds import EventKind, HandoffReason
from talkme_consultant.helpers.outcome import LeadInfo, TurnOutcome
from talkme_consultant.helpers.phones import extract_phones

log = logging.getLogger(__name__)

# How many days ahead free times are looked for when the wish names no day.
_DAYS_AHEAD = 7


@dataclass(frozen=True)
class BookingOptions:
    """What the booking dialogue needs of the business: its zone, the branch's address (the
    confirmation names it) and the finish code of a handoff."""

    zone: tzinfo
    address: str = ""
    operator_code: str | None = None
    max_message_chars: int = 4000


@dataclass(frozen=True)
class BookingInput:
    """The part of a turn the booking dialogue reads."""

    conversation_key: str
    text: str
    last_bot_meta: Mapping[str, Any] | None
    visitor_name: str | None
    phone: str | None
    # Messages remembered before this turn: a turn retried after a crash has the same memory,
    # so the position names the turn, and with the conversation our booking's `api_id`.
    position: int = 0


class BookingTurns:
    """Runs booking turns against a calendar (None: not configured, every booking is a lead)."""

    def __init__(
        self,
        calendar: Calendar | None,
        ledger: BookingLedger | None,
        options: BookingOptions,
    ) -> None:
        self._calendar = calendar
        self._ledger = ledger
        self._options = options

    async def turn(
        self, given: BookingInput, now: datetime | None = None, *, force: bool = False
    ) -> TurnOutcome | None:
        """The booking turn's outcome, or None when this is not a booking turn (`force`: it is,
        a model said so)."""
        state = pending_booking(given.last_bot_meta)
        if state is None and not force and not wants_to_book(given.text):
            return None
        today = self.today(now)
        if state is not None and not force and _aside(given.text, state, today):
            return None
        turn = _Turn(given, today, self._options)
        state = turn.read(state or BookingState(step=BookingStep.SERVICE))
        if self._calendar is None:
            return turn.lead_or_ask(state)
        try:
            prior = await self._ledger.find(turn.api_id) if self._ledger is not None else None
            if prior is not None:
                # This very turn already booked, or began to, and then crashed: finish that.
                state = BookingState.model_validate_json(prior.details)
                return await self._book(turn, state, self._calendar)
            return await self._with_calendar(turn, state, self._calendar)
        except CalendarError as error:
            log.warning("booking: the calendar failed (%s)", error.failure.value)
            turn.outcome.add_event(EventKind.BOOKING, status="calendar_failed", error=str(error))
            return turn.lead_or_ask(state.model_copy(update={"offered": [], "chosen": None}))

    @property
    def calendar(self) -> Calendar | None:
        """The calendar booked into (None: every booking is a lead)."""
        return self._calendar

    @property
    def ledger(self) -> BookingLedger | None:
        """Where each booking's intent and record id are kept."""
        return self._ledger

    @property
    def options(self) -> BookingOptions:
        """The business's zone, address and finish code."""
        return self._options

    def today(self, now: datetime | None = None) -> date:
        """The business's today."""
        return (now or datetime.now(self._options.zone)).astimezone(self._options.zone).date()

    async def _with_calendar(
        self, turn: _Turn, state: BookingState, calendar: Calendar
    ) -> TurnOutcome:
        if not state.master and may_name_master(turn.text) and not wants_any_master(turn.text):
            master = read_master(turn.text, await calendar.masters(state.service_id or 0))
            if master is not None:
                state = state.model_copy(
                    update={"staff_id": master.id, "master": master.name, "offered": []}
                )
        if state.service_id is None:
            services = await calendar.services()
            if state.step is BookingStep.SERVICE and state.service_options:
                titles = [option.title for option in state.service_options]
                index = read_choice(turn.text, titles)
                if index is not None:
                    chosen = state.service_options[index]
                    state = state.model_copy(
                        update={"service_id": chosen.id, "service": chosen.title}
                    )
            if state.service_id is None:
                fits = match_services(turn.text, services)
                if len(fits) == 1:
                    state = state.model_copy(
                        update={"service_id": fits[0].id, "service": fits[0].title}
                    )
                elif fits:
                    options = [ServiceOption(id=s.id, title=s.title) for s in fits[:5]]
                    return turn.ask(
                        state.model_copy(update={"service_options": options}),
                        say.which_service([o.title for o in options]),
                    )
                else:
                    return turn.ask(state, say.ask_service([s.title for s in services]))
        assert state.service_id is not None
        if state.chosen is None and state.offered:
            state = _read_time_choice(turn.text, state)
        if state.chosen is None:
            return await self._offer_times(turn, state, calendar)
        if not state.name or not state.phone:
            return turn.ask(
                state.model_copy(update={"step": BookingStep.CONTACT}),
                say.ask_contacts(bool(state.name), bool(state.phone)),
            )
        return await self._book(turn, state, calendar)

    async def _offer_times(
        self, turn: _Turn, state: BookingState, calendar: Calendar, *, taken: bool = False
    ) -> TurnOutcome:
        assert state.service_id is not None
        times, missed = await free_times(calendar, state, turn.today)
        if not times:
            turn.outcome.add_event(EventKind.BOOKING, status="nothing_free")
            return turn.lead_or_ask(state)
        exact = _exactly_wished(times, state.wish) if not taken and not missed else None
        if exact is not None:
            # «завтра в 16:00» and 16:00 is free: nothing to choose.
            state = state.model_copy(update={"offered": times, "chosen": exact})
            if state.name and state.phone:
                return await self._book(turn, state, calendar)
            return turn.ask(
                state.model_copy(update={"step": BookingStep.CONTACT}),
                say.ask_contacts(bool(state.name), bool(state.phone)),
            )
        update = {"step": BookingStep.TIME, "offered": times, "chosen": None}
        state = state.model_copy(update=update)
        if taken:
            return turn.ask(state, say.slot_taken(times, turn.today))
        text = say.offer_times(
            state.service,
            state.master,
            times,
            turn.today,
            missed=state.wish_label if missed else "",
        )
        return turn.ask(state, text)

    async def _book(self, turn: _Turn, state: BookingState, calendar: Calendar) -> TurnOutcome:
        assert state.service_id is not None and state.chosen is not None
        assert state.name is not None and state.phone is not None
        api_id = turn.api_id
        request = booking_request(state, api_id)
        if self._ledger is not None:
            details = state.model_dump_json()
            prior = await self._ledger.begin(api_id, turn.given.conversation_key, details)
            if prior is not None and prior.record_id is not None:
                return turn.booked(state, prior.record_id, retried=True)
            if prior is not None:
                # The turn that began this booking ended before the calendar's answer was kept:
                # the record may exist. A free time means it does not; otherwise no second try.
                free = await calendar.times(state.service_id, request.staff_id, state.chosen.date())
                if state.chosen not in free:
                    turn.outcome.add_event(EventKind.BOOKING, status="unknown", api_id=api_id)
                    return turn.lead(state, say.probably_booked())
        try:
            await calendar.check(request)
            made = await calendar.record(request)
        except CalendarError as error:
            # A refusal of this one appointment (not of the calendar) is read as the time being
            # gone: other free times are offered, nothing is confirmed.
            if error.failure not in (CalendarFailure.SLOT_TAKEN, CalendarFailure.REJECTED):
                raise
            turn.outcome.add_event(
                EventKind.BOOKING, status="slot_taken", at=state.chosen.isoformat()
            )
            retry = state.model_copy(update={"chosen": None, "wish_exact": state.chosen.time()})
            return await self._offer_times(turn, retry, calendar, taken=True)
        if self._ledger is not None:
            await self._ledger.made(api_id, made.record_id)
        return turn.booked(state, made.record_id)


class _Turn:
    """One booking turn's reading of the message and the outcome it builds."""

    def __init__(self, given: BookingInput, today: date, options: BookingOptions) -> None:
        self.given = given
        self.text = given.text
        self.today = today
        self._options = options
        self.outcome = TurnOutcome(visitor_text=given.text, replies=[])
        self.api_id = booking_api_id(given.conversation_key, given.position)

    def read(self, state: BookingState) -> BookingState:
        """The state with everything this message adds: wish, phone, name, service words."""
        wish = read_wish(self.text, self.today)
        if not wish.is_empty and not (state.offered and _names_offered(self.text, state)):
            state = state.with_wish(wish)
        phones = extract_phones(self.text)
        phone = phones[0] if phones else state.phone or self.given.phone
        name = read_name(
            self.text, asked=state.step is BookingStep.CONTACT or state.step is BookingStep.LEAD
        )
        update: dict[str, Any] = {
            "phone": phone,
            "name": name or state.name or self.given.visitor_name,
        }
        if not state.service:
            spoken = wished_service(self.text, [wish.label, name or ""])
            if spoken:
                update["service"] = spoken
        return state.model_copy(update=update)

    def ask(self, state: BookingState, text: str) -> TurnOutcome:
        """Ask the visitor the next thing; the state waits in the message's meta."""
        self._finish(state, text)
        self.outcome.add_event(EventKind.BOOKING, status=state.step.value)
        return self.outcome

    def lead_or_ask(self, state: BookingState) -> TurnOutcome:
        """No calendar to book in: a lead with the wished service and time once a phone is here."""
        if not state.phone:
            return self.ask(
                state.model_copy(update={"step": BookingStep.LEAD}),
                say.ask_lead_contacts(state.wish_label),
            )
        return self.lead(state, say.lead_taken(state.name, state.service, state.wish_label))

    def lead(self, state: BookingState, text: str) -> TurnOutcome:
        """Keep the lead (service and wished time in its interest) and hand over to a person."""
        assert state.phone is not None
        interest = "; ".join(part for part in (state.service, state.wish_label) if part)
        self.outcome.lead = LeadInfo(
            name=state.name,
            phone=state.phone,
            interest=interest[:200] or None,
            summary=f"Хочет записаться: {interest or 'услуга не названа'}.\nvisitor: {self.text}"[
                -3000:
            ],
        )
        self.outcome.add_event(EventKind.LEAD, interest=interest[:200])
        self._finish(state.model_copy(update={"step": BookingStep.HANDED_OVER}), text)
        self.outcome.handed_off = True
        self.outcome.finish_code = self._options.operator_code
        self.outcome.add_event(EventKind.HANDOFF, reason=HandoffReason.BOOKING)
        return self.outcome

    def booked(self, state: BookingState, record_id: int, *, retried: bool = False) -> TurnOutcome:
        """The record is made: confirm it, and keep it for the owner (meta, event, lead)."""
        assert state.chosen is not None
        done = state.model_copy(update={"step": BookingStep.BOOKED, "record_id": record_id})
        text = say.booked(
            state.name or "",
            state.service,
            state.master,
            state.chosen,
            self.today,
            self._options.address,
        )
        self._finish(done, text)
        record_booked(self.outcome, done, self.today, retried=retried)
        return self.outcome

    def _finish(self, state: BookingState, text: str) -> None:
        self.outcome.replies = split_message(text, self._options.max_message_chars)
        self.outcome.meta = {
            "intent": "booking",
            "answerer": "booking",
            BOOKING_META: state.model_dump(mode="json"),
        }
        self.outcome.visitor_name = state.name
        self.outcome.phone = state.phone


def booking_request(state: BookingState, api_id: str) -> BookingRequest:
    """The calendar request for a state with its service, time, name and phone chosen."""
    assert state.service_id is not None and state.chosen is not None
    assert state.name is not None and state.phone is not None
    return BookingRequest(
        service_id=state.service_id,
        staff_id=state.staff_id or ANY_MASTER,
        at=state.chosen,
        phone=state.phone,
        fullname=state.name,
        api_id=api_id,
        comment="Запись из онлайн-чата",
    )


def booking_api_id(conversation_key: str, position: int, attempt: int = 0) -> str:
    """Our `api_id` of a booking: the conversation and the turn's position name it, so a turn
    retried after a crash finds the booking it made. `attempt` tells apart the bookings a model
    tries in one turn (a time taken, then another); the first is the dialogue's own."""
    raw = f"{conversation_key}#{position}" + (f"#{attempt}" if attempt else "")
    return "tmc-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def record_booked(
    outcome: TurnOutcome, done: BookingState, today: date, *, retried: bool = False
) -> None:
    """Keep a made record for the owner as every booking is kept: the `booking` event with its
    record id, service, master and time (the transcript), and a lead with the status «записан»
    (the Leads page and the Overview's count). `done` is the booked state, meta's record too."""
    assert done.chosen is not None and done.phone is not None and done.record_id is not None
    when = say.time_line(done.chosen, today)
    outcome.add_event(
        EventKind.BOOKING,
        status="booked",
        record_id=done.record_id,
        service=done.service,
        master=done.master,
        at=done.chosen.isoformat(),
        retried=retried,
    )
    outcome.lead = LeadInfo(
        name=done.name,
        phone=done.phone,
        interest=f"{done.service}; {when}"[:200],
        summary=f"Записан в YCLIENTS, запись № {done.record_id}: {done.service}, {when}"
        + (f", мастер {done.master}" if done.master else ""),
        booked=True,
    )


def _aside(text: str, state: BookingState, today: date) -> bool:
    """True when a reply to the bot's booking question is a question of its own («а сколько
    это стоит?»): nothing in it answers the booking, so the knowledge base answers it; the
    booking is left, and a new wish to book starts it again."""
    if "?" not in text or wants_to_book(text) or extract_phones(text):
        return False
    if not read_wish(text, today).is_empty:
        return False
    if state.step is BookingStep.TIME and _names_offered(text, state):
        return False
    options = [option.title for option in state.service_options]
    return not (state.step is BookingStep.SERVICE and read_choice(text, options) is not None)


def _names_offered(text: str, state: BookingState) -> bool:
    """True when the message picks one of the offered times («в 15:30») rather than a new wish."""
    return _read_time_choice(text, state).chosen is not None


def _read_time_choice(text: str, state: BookingState) -> BookingState:
    """The offered time the visitor picked: «2», «давайте вторую», «в 15:30»."""
    wish = read_wish(text, state.offered[0].date() if state.offered else date.today())
    if wish.exact is not None:
        hits = [at for at in state.offered if at.time() == wish.exact]
        if wish.days:
            hits = [at for at in hits if at.date() in wish.days] or hits
        if len(hits) == 1 or (hits and not wish.days):
            return state.model_copy(update={"chosen": hits[0]})
    titles = [at.strftime("%H:%M") for at in state.offered]
    index = read_choice(text, titles)
    if index is not None:
        return state.model_copy(update={"chosen": state.offered[index]})
    return state


async def free_times(
    calendar: Calendar, state: BookingState, today: date
) -> tuple[list[datetime], bool]:
    """Up to five free times nearest to the wish; True when none fits the wish itself (the times
    are then the nearest others)."""
    assert state.service_id is not None
    wish = state.wish
    staff = state.staff_id or ANY_MASTER
    open_days = await calendar.dates(state.service_id, staff)
    days = [d for d in open_days if d in wish.days] if wish.days else []
    if not wish.days:
        days = [d for d in open_days if today <= d < today + timedelta(days=_DAYS_AHEAD)]
    fitting = await _times_on(calendar, state.service_id, staff, days[:_DAYS_AHEAD], wish)
    if fitting:
        return _nearest(fitting, wish)[: say.MAX_OFFERED], False
    # Nothing fits: the nearest free times after the wished day (or from today).
    start = max(wish.days) if wish.days else today
    later = [d for d in open_days if d >= start][:3]
    others = await _times_on(calendar, state.service_id, staff, later, Wish())
    return sorted(others)[: say.MAX_OFFERED], True


async def _times_on(
    calendar: Calendar, service_id: int, staff: int, days: Sequence[date], wish: Wish
) -> list[datetime]:
    found: list[datetime] = []
    for day in days:
        for at in await calendar.times(service_id, staff, day):
            if wish.allows(at.time()):
                found.append(at)
        if len(found) >= say.MAX_OFFERED and wish.exact is None:
            break
    return found


def _nearest(times: list[datetime], wish: Wish) -> list[datetime]:
    """Nearest to the exact wished time first (shown in time order), else earliest first."""
    if wish.exact is None:
        return sorted(times)
    target = wish.exact.hour * 60 + wish.exact.minute

    def distance(at: datetime) -> tuple[int, datetime]:
        return abs(at.hour * 60 + at.minute - target), at

    return sorted(sorted(times, key=distance)[: say.MAX_OFFERED])


def _exactly_wished(times: Sequence[datetime], wish: Wish) -> datetime | None:
    """The one free time that is exactly the wished day and time, if there is one."""
    if wish.exact is None or len(wish.days) != 1:
        return None
    hits = [at for at in times if at.date() == wish.days[0] and at.time() == wish.exact]
    return hits[0] if hits else None
