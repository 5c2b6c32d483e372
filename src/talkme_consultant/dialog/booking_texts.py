"""What the booking dialogue says to the visitor, in one place, as a careful administrator would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from talkme_consultant.dialog.when import day_label

MAX_OFFERED = 5


def time_line(at: datetime, today: date) -> str:
    """«завтра, 5 декабря, 15:00»."""
    return f"{day_label(at.date(), today)}, {at.strftime('%H:%M')}"


def ask_service(titles: Sequence[str]) -> str:
    """No service was named (or none of the calendar's fits)."""
    examples = "; ".join(titles[:MAX_OFFERED])
    return (
        "С удовольствием запишу вас. Подскажите, пожалуйста, на какую услугу? "
        f"Например: {examples}."
    )


def which_service(titles: Sequence[str]) -> str:
    """Several services fit: a numbered question."""
    lines = "\n".join(f"{n}) {title}" for n, title in enumerate(titles, start=1))
    return f"Уточните, пожалуйста, на какую услугу вас записать:\n{lines}\nМожно ответить номером."


def offer_times(
    service: str, master: str, times: Sequence[datetime], today: date, *, missed: str = ""
) -> str:
    """Up to five free times, numbered; `missed` says the wished time had none."""
    lines = "\n".join(f"{n}) {time_line(at, today)}" for n, at in enumerate(times, start=1))
    who = f", мастер {master}," if master else ""
    intro = (
        f"На {missed} свободного времени нет. Ближайшее свободное время на «{service}»{who}:"
        if missed
        else f"Свободное время на «{service}»{who.rstrip(',')}:"
    )
    return f"{intro}\n{lines}\nНапишите, пожалуйста, номер или время, которое вам удобно."


def nothing_free(service: str) -> str:
    """The calendar has no free time at all in the coming days."""
    return (
        f"К сожалению, в ближайшие дни свободного времени на «{service}» нет. "
        "Передаю ваш запрос администратору — он подберёт время и напишет вам здесь."
    )


def ask_contacts(name_known: bool, phone_known: bool) -> str:
    """The chosen time needs a name and / or a phone for the record."""
    if not name_known and not phone_known:
        return "Отлично! Как вас зовут и по какому номеру телефона с вами связаться?"
    if not name_known:
        return "Отлично! Подскажите, пожалуйста, как вас зовут?"
    return "Отлично! Оставьте, пожалуйста, номер телефона для записи."


def booked(name: str, service: str, master: str, at: datetime, today: date, address: str) -> str:
    """The confirmation: service, master, date, time and the branch's address."""
    who = f", мастер {master}" if master else ""
    where = f"\nЖдём вас по адресу: {address}." if address else ""
    return (
        f"{name}, вы записаны: «{service}»{who}, {time_line(at, today)}.{where}\n"
        "Если планы изменятся, напишите нам, пожалуйста, заранее."
    )


def slot_taken(times: Sequence[datetime], today: date) -> str:
    """The chosen time was taken at the last moment."""
    if not times:
        return (
            "Извините, это время только что заняли, а другого свободного времени рядом нет. "
            "Передаю ваш запрос администратору — он подберёт время."
        )
    lines = "\n".join(f"{n}) {time_line(at, today)}" for n, at in enumerate(times, start=1))
    return (
        "Извините, это время только что заняли. Вот другое свободное время:\n"
        f"{lines}\nКакое вам удобно?"
    )


def for_when(wish: str) -> str:
    """The wished time as what a booking is for: «на субботу, 5 декабря», «на выходные»."""
    if wish.startswith(("в ", "во ")):
        return "на " + wish.split(" ", 1)[1]
    if wish.startswith(("сегодня", "завтра", "послезавтра")):
        return "на " + wish
    if wish.startswith("на выходных"):
        return "на выходные" + wish.removeprefix("на выходных")
    return wish


def ask_lead_contacts(wish: str) -> str:
    """No calendar to book in (or it is down): the administrator will confirm the booking."""
    when = f" {for_when(wish)}" if wish else ""
    return (
        "Оставьте, пожалуйста, имя и телефон — администратор подтвердит запись"
        f"{when} и перезвонит вам."
    )


def lead_taken(name: str | None, service: str, wish: str) -> str:
    """The lead is kept: who will call and what about."""
    thanks = f"Спасибо, {name}!" if name else "Спасибо!"
    what = f" на «{service}»" if service else ""
    when = f" {for_when(wish)}" if wish else ""
    return f"{thanks} Передаю заявку{what}{when} администратору — он перезвонит и подтвердит время."


def probably_booked() -> str:
    """A retried turn cannot tell whether its record was made: no promise either way."""
    return (
        "Похоже, запись уже создана, но подтвердить это прямо сейчас не получается. "
        "Передаю администратору — он проверит и напишет вам здесь."
    )
