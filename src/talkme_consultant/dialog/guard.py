"""The grounding guard: every price, number, phone, e-mail and link of a reply must be sourced.

Checked by code, not by another model call, because the point is to catch exactly the things a
model makes up with confidence. The sources are the records the reply cites plus the business
profile's facts; the guard extracts the same kinds of values from both sides, normalises them
and reports every value of the reply that the sources do not contain.

Rules (what counts as "the same" and what is let through):

- **Prices** (a number with a currency: "1 500 ₽", "1500р", "1.500 руб", "$20", "1,5 тыс. руб",
  both ends of a range "1500–2000 ₽" / "от 1500 до 2000 руб") must be in the sources, whatever
  their size. Thousands separators (space, no-break space, dot, comma) are ignored:
  "1 500" = "1500" = "1.500".
  A price is grounded by the same number in the sources when that number is a price there too
  (has a currency, or follows a price word on its line: "Цена, руб: 1500", "Стоимость — 900"),
  or is at least 100 (price lists without labels). Small unlabelled source numbers (a house
  number "д. 1", "60 минут") do not ground a price, so "стрижка за 1 рубль" is always caught.
- **Percentages** ("скидка 15%", "5 процентов") must be in the sources as percentages, whatever
  their size.
- **Other numbers** must be in the sources unless they are ≤ 10 ("1 час", "2 мастера", "3 дня"):
  small counts are everyday language and rarely what a customer is misled by.
- **Times** ("10:00", "21.00") must be in the sources as times; a whole hour "21:00" is also
  accepted when the sources say "21" as a number ("с 10 до 21"), and the hours of the sources'
  times count as numbers (so "с 10 до 21" is grounded by "10:00–21:00").
- **Dates** ("15.03.2025") must be in the sources.
- **Phones** are compared by digits after normalisation (+7 and 8 are the same prefix); a local
  number ("123-45-67") matches a source phone that ends with the same digits.
- **E-mails** are compared case-insensitively; **links and domains** without scheme, "www." and
  trailing slash. A bare domain ("salon.ru") is grounded by any source link on that host; a link
  with a path must match a source link exactly.
- The visitor's own phone numbers and plain numbers (`visitor_texts`) may be repeated back
  ("перезвоним на +7 916 …", "для волос длиной 40 см …"). Nothing else the visitor wrote counts
  as a source: not prices or percentages (a visitor must not put "1 рубль" or "скидка 90%" into
  the bot's mouth), not times or dates (a time is the calendar's to give: the booking tools'
  results are sources, the visitor's wish is not), not links or e-mails (no phishing addresses
  dictated through the chat).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from talkme_consultant.helpers.phones import phone_spans

SMALL_NUMBER_LIMIT = Decimal(10)


class ProblemKind(StrEnum):
    """What sort of value the guard could not find in the sources."""

    PRICE = "price"
    PERCENT = "percent"
    NUMBER = "number"
    TIME = "time"
    DATE = "date"
    PHONE = "phone"
    EMAIL = "email"
    LINK = "link"


_KIND_WORDS: dict[ProblemKind, str] = {
    ProblemKind.PRICE: "цена",
    ProblemKind.PERCENT: "процент",
    ProblemKind.NUMBER: "число",
    ProblemKind.TIME: "время",
    ProblemKind.DATE: "дата",
    ProblemKind.PHONE: "телефон",
    ProblemKind.EMAIL: "e-mail",
    ProblemKind.LINK: "ссылка",
}


@dataclass(frozen=True)
class GroundingProblem:
    """One value of the reply that the sources do not contain."""

    kind: ProblemKind
    value: str  # as written in the reply, e.g. "1 700 ₽"

    def describe(self) -> str:
        """One line for the model's feedback and the logs, e.g. 'цена «1700 ₽» …'."""
        return f"{_KIND_WORDS[self.kind]} «{self.value}» — нет в записях базы знаний и профиле"


def describe_problems(problems: Sequence[GroundingProblem]) -> str:
    """The feedback text for `TurnContext.guard_feedback`; empty when there are no problems."""
    if not problems:
        return ""
    lines = "; ".join(problem.describe() for problem in problems)
    return (
        f"В ответе есть значения, которых нет в источниках: {lines}. "
        "Убери их или замени точными значениями из записей; если точного значения нет, "
        "так и скажи и предложи уточнить у администратора."
    )


# --- extraction ------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>«»\"']+", re.IGNORECASE)
_DOMAIN = re.compile(
    r"(?<![\w@.\-/])"
    r"(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}"  # latin: salon.ru, beauty.moscow
    r"|(?:[а-яё0-9](?:[а-яё0-9-]*[а-яё0-9])?\.)+рф)"  # cyrillic: салон.рф
    r"(?:/[^\s<>«»\"']*)?",
    re.IGNORECASE,
)
_TRAILING_PUNCT = ".,;:!?)]}»\"'"
_LOCAL_PHONE = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{2}(?![\d-])")
_DATE = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?![\d.]?\d)")
_TIME = re.compile(r"(?<![\d.,:])([01]?\d|2[0-3])[:.]([0-5]\d)(?![.,:]?\d)")
_NUMBER = re.compile(
    r"(?<![\d.,])(?:"
    r"(?P<spaced>\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?!\d)(?:,\d{1,2}(?!\d))?)"  # 1 500
    r"|(?P<dotted>\d{1,3}(?:\.\d{3})+)(?![.,]?\d)"  # 1.500 / 1.500.000
    r"|(?P<commaed>\d{1,3}(?:,\d{3})+)(?![.,]?\d)"  # 1,500
    r"|(?P<plain>\d+(?:[.,]\d+)?)"  # 1500 / 2,5 / 1.5
    r")"
)
_THOUSANDS = re.compile(r"\s*(?:тыс(?:яч\w*|\.)?|k\b)", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(
    r"\s*(?:₽|\$|€|руб(?:л\w*|\.|\b)|р\.|р\b|rub\b|rur\b|usd\b|eur\b|долл\w*|евро\b)",
    re.IGNORECASE,
)
_CURRENCY_BEFORE = re.compile(r"(?:₽|\$|€)\s*$")
_PERCENT_AFTER = re.compile(r"\s*(?:%|процент\w*|percent\b)", re.IGNORECASE)
# A price word right before a number: "Цена: ", "Цена, руб.: ", "Стоимость (руб.): ",
# "Price, USD: ", "Стоимость — от ". Column names of price lists carry the unit this way.
_PRICE_CONTEXT = re.compile(
    r"(?:цен|стоим|стоит|прайс|price|cost)\w*"
    r"(?:,?\s*\(?\s*(?:руб\.?|₽|rub|\$|€|usd|eur)\s*\)?)?"
    r"\s*[:—–-]?\s*(?:от\s*)?$",
    re.IGNORECASE,
)
# Unlabelled source numbers at least this big may ground a price (see the module docstring).
UNLABELLED_PRICE_MIN = Decimal(100)
_RANGE_LINK = re.compile(r"^\s*(?:[-–—]|до|to)\s*$", re.IGNORECASE)


@dataclass
class _Number:
    raw: str
    start: int
    end: int
    readings: list[list[Decimal]]  # alternative interpretations; each is one or more values
    kind: ProblemKind = ProblemKind.NUMBER
    price_context: bool = False  # a price word comes before it on its line ("Цена: 1500")


@dataclass
class _Values:
    """Everything of interest in one text, normalised."""

    phones: list[tuple[str, str]] = field(default_factory=list)  # (as written, normalised digits)
    emails: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    dates: list[tuple[str, str]] = field(default_factory=list)
    times: list[tuple[str, str]] = field(default_factory=list)
    numbers: list[_Number] = field(default_factory=list)


def _blank(text: str, start: int, end: int) -> str:
    # Keep offsets stable so later patterns see the same positions.
    return text[:start] + " " * (end - start) + text[end:]


def _normalise_link(raw: str) -> str:
    link = raw.lower().rstrip(_TRAILING_PUNCT)
    link = re.sub(r"^https?://", "", link)
    link = re.sub(r"^www\.", "", link)
    return link.rstrip("/")


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _readings(match: re.Match[str]) -> list[list[Decimal]]:
    """All sensible interpretations of one written number."""
    options: list[list[Decimal]] = []

    def add(*values: Decimal | None) -> None:
        if all(value is not None for value in values):
            options.append([value for value in values if value is not None])

    if spaced := match.group("spaced"):
        whole = re.sub(r"[ \u00a0\u202f\u2009]", "", spaced).replace(",", ".")
        add(_decimal(whole))
        # "2 300" may also be two numbers ("2 300-рублёвых сертификата" aside, rare): kept as a
        # second reading, used only for non-prices (see _check_number).
        parts = re.split(r"[ \u00a0\u202f\u2009]", spaced.split(",")[0])
        add(*(_decimal(part) for part in parts))
    elif dotted := match.group("dotted"):
        add(_decimal(dotted.replace(".", "")))
        if dotted.count(".") == 1:
            add(_decimal(dotted))  # "1.500" may be an English decimal
    elif commaed := match.group("commaed"):
        add(_decimal(commaed.replace(",", "")))
        if commaed.count(",") == 1:
            add(_decimal(commaed.replace(",", ".")))  # "1,500" may be a Russian decimal
    else:
        add(_decimal(match.group("plain").replace(",", ".")))
    return options


def _extract(text: str) -> _Values:
    values = _Values()
    for match in _EMAIL.finditer(text):
        values.emails.append((match.group(), match.group().lower()))
        text = _blank(text, *match.span())
    for pattern in (_URL, _DOMAIN):
        for match in pattern.finditer(text):
            raw = match.group().rstrip(_TRAILING_PUNCT)
            values.links.append((raw, _normalise_link(raw)))
            text = _blank(text, match.start(), match.start() + len(raw))
    for start, end, phone in phone_spans(text):
        values.phones.append((text[start:end].strip(), phone.lstrip("+")))
        text = _blank(text, start, end)
    for match in _LOCAL_PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        values.phones.append((match.group(), digits))
        text = _blank(text, *match.span())
    for match in _DATE.finditer(text):
        day, month, year = match.groups()
        year = year if len(year) == 4 else "20" + year
        values.dates.append((match.group(), f"{int(day)}.{int(month)}.{year}"))
        text = _blank(text, *match.span())
    for match in _TIME.finditer(text):
        if _CURRENCY_AFTER.match(text, match.end()):
            continue  # "1.50 ₽" is a price, not ten to two
        hour, minute = match.groups()
        values.times.append((match.group(), f"{int(hour)}:{minute}"))
        text = _blank(text, *match.span())
    values.numbers = _numbers(text)
    return values


def _numbers(text: str) -> list[_Number]:
    numbers: list[_Number] = []
    for match in _NUMBER.finditer(text):
        readings = _readings(match)
        if not readings:
            continue
        end = match.end()
        number = _Number(raw=match.group(), start=match.start(), end=end, readings=readings)
        if thousands := _THOUSANDS.match(text, end):
            number.readings = [[value * 1000 for value in reading] for reading in readings]
            number.readings += readings
            end = thousands.end()
        if currency := _CURRENCY_AFTER.match(text, end):
            number.kind = ProblemKind.PRICE
            number.raw = text[number.start : currency.end()].strip()
        elif before := _CURRENCY_BEFORE.search(text, 0, number.start):
            number.kind = ProblemKind.PRICE
            number.raw = text[before.start() : number.end].strip()
        elif percent := _PERCENT_AFTER.match(text, end):
            number.kind = ProblemKind.PERCENT
            number.raw = text[number.start : percent.end()].strip()
        number.price_context = bool(_PRICE_CONTEXT.search(text, 0, number.start))
        numbers.append(number)
    # The first end of a range takes the currency of the second: "1500–2000 ₽", "от 1500 до 2000 р".
    for left, right in reversed(list(itertools.pairwise(numbers))):
        if (
            left.kind is ProblemKind.NUMBER
            and right.kind is not ProblemKind.NUMBER
            and _RANGE_LINK.match(text[left.end : right.start])
        ):
            left.kind = right.kind
    return numbers


# --- checking --------------------------------------------------------------------------------


@dataclass
class _Grounds:
    """What the sources (and, for some kinds, the visitor) allow the reply to say."""

    phones: set[str] = field(default_factory=set)  # digits, country prefix 7
    emails: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)
    times: set[str] = field(default_factory=set)
    numbers: set[Decimal] = field(default_factory=set)
    # A price may be grounded by the same number anywhere in the sources (price lists often omit
    # the currency); a percentage only by a percentage.
    prices: set[Decimal] = field(default_factory=set)
    percents: set[Decimal] = field(default_factory=set)

    def add_visitor(self, values: _Values) -> None:
        """What the visitor wrote: only their phones and plain numbers may be repeated."""
        self.phones.update(digits for _, digits in values.phones)
        for number in values.numbers:
            if number.kind is ProblemKind.NUMBER:
                for reading in number.readings:
                    self.numbers.update(reading)

    def add(self, values: _Values) -> None:
        """What a source says: every value may be repeated."""
        self.phones.update(digits for _, digits in values.phones)
        self.emails.update(email for _, email in values.emails)
        for _, link in values.links:
            self.links.add(link)
            self.hosts.add(link.split("/", 1)[0])
        self.dates.update(date for _, date in values.dates)
        for _, time in values.times:
            self.times.add(time)
            self.numbers.add(Decimal(time.split(":")[0]))
        for number in values.numbers:
            readings = number.readings
            if number.kind is not ProblemKind.NUMBER:
                readings = [reading for reading in readings if len(reading) == 1]
            for reading in readings:
                self.numbers.update(reading)
                if number.kind is ProblemKind.PERCENT:
                    self.percents.update(reading)
                elif number.kind is ProblemKind.PRICE or number.price_context:
                    self.prices.update(reading)
                else:
                    self.prices.update(v for v in reading if v >= UNLABELLED_PRICE_MIN)


def _is_small(value: Decimal) -> bool:
    return Decimal(0) <= value <= SMALL_NUMBER_LIMIT


def _number_grounded(number: _Number, grounds: _Grounds) -> bool:
    if number.kind is ProblemKind.NUMBER:
        return any(
            all(value in grounds.numbers or _is_small(value) for value in reading)
            for reading in number.readings
        )
    # Prices and percentages: one whole value, found in the sources themselves.
    allowed = grounds.percents if number.kind is ProblemKind.PERCENT else grounds.prices
    return any(len(reading) == 1 and reading[0] in allowed for reading in number.readings)


def _phone_grounded(digits: str, grounds: _Grounds) -> bool:
    if len(digits) == 7:  # a local number: any source phone ending with it
        return any(phone.endswith(digits) for phone in grounds.phones)
    return digits in grounds.phones


def _link_grounded(link: str, grounds: _Grounds) -> bool:
    if link in grounds.links:
        return True
    host, _, path = link.partition("/")
    return not path and host in grounds.hosts


def _problems(values: _Values, grounds: _Grounds) -> Iterable[GroundingProblem]:
    for raw, digits in values.phones:
        if not _phone_grounded(digits, grounds):
            yield GroundingProblem(ProblemKind.PHONE, raw)
    for raw, email in values.emails:
        if email not in grounds.emails:
            yield GroundingProblem(ProblemKind.EMAIL, raw)
    for raw, link in values.links:
        if not _link_grounded(link, grounds):
            yield GroundingProblem(ProblemKind.LINK, raw)
    for raw, date in values.dates:
        if date not in grounds.dates:
            yield GroundingProblem(ProblemKind.DATE, raw)
    for raw, time in values.times:
        hour, minute = time.split(":")
        whole_hour_said = minute == "00" and Decimal(hour) in grounds.numbers
        if time not in grounds.times and not whole_hour_said:
            yield GroundingProblem(ProblemKind.TIME, raw)
    for number in values.numbers:
        if not _number_grounded(number, grounds):
            yield GroundingProblem(number.kind, number.raw)


def check_grounding(
    reply: str, sources: Sequence[str], *, visitor_texts: Sequence[str] = ()
) -> list[GroundingProblem]:
    """Every price, number, time, date, phone, e-mail and link of `reply` missing from `sources`.

    `sources` are the cited records' texts and the profile facts. `visitor_texts` (optional) are
    the visitor's own messages: their phones and plain numbers may be repeated back. The module
    docstring lists the rules. An empty list means the reply is grounded.
    """
    grounds = _Grounds()
    for source in sources:
        grounds.add(_extract(source))
    for text in visitor_texts:
        grounds.add_visitor(_extract(text))
    problems: list[GroundingProblem] = []
    for problem in _problems(_extract(reply), grounds):
        if problem not in problems:
            problems.append(problem)
    return problems
