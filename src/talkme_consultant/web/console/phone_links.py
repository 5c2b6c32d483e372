"""Visitors' phone numbers on the console's pages: whole, and a tap away from a call.

The owner reads a conversation to call the visitor back, so a signed-in page shows the number
whole as a `tel:` link whose target is the number in one form (`+7XXXXXXXXXX`,
`helpers/phones.py`), whatever way the visitor typed it. Logs keep masking phones
(`logs.py`), and so do the admin API and the monitoring routes, which leave the console.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from talkme_consultant.helpers.phones import normalize_phone, phone_spans


def readable_phone(phone: str) -> str:
    """A normalised number as a person reads it: `+79161234567` → `+7 916 123-45-67`; a
    foreign one stays as it is."""
    if len(phone) == 12 and phone.startswith("+7"):
        digits = phone[2:]
        return f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
    return phone


def whole_phone(raw: str) -> str:
    """A stored phone whole, as a person reads it; text that is no phone number as it is."""
    phone = normalize_phone(raw)
    return raw if phone is None else readable_phone(phone)


def _link(target: str, shown: str) -> Markup:
    return Markup('<a href="tel:{}" class="phone" data-testid="phone-link">{}</a>').format(
        target, shown
    )


def phone_link(raw: str | None) -> Markup:
    """A stored phone as a `tel:` link showing the whole number; text that is no phone number
    is shown as it is, without a link."""
    if not raw:
        return Markup("")
    phone = normalize_phone(raw)
    if phone is None:
        return escape(raw)
    return _link(phone, readable_phone(phone))


def linked_phones(text: str | None) -> Markup:
    """Free text (a message, a question) escaped, each phone number in it a `tel:` link that
    keeps the visitor's own writing."""
    if not text:
        return Markup("")
    pieces: list[Markup] = []
    last = 0
    for start, end, phone in phone_spans(text):
        pieces.append(escape(text[last:start]))
        pieces.append(_link(phone, text[start:end]))
        last = end
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)
