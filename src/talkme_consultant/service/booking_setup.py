"""Booking's parts built from settings and the profile: the YCLIENTS calendar when it is
configured, and the dialogue that books into it (or keeps leads when it is not)."""

from __future__ import annotations

from talkme_consultant.booking.yclients import YclientsClient
from talkme_consultant.config import Settings
from talkme_consultant.dialog.booking import BookingOptions, BookingTurns
from talkme_consultant.helpers.calendar import BookingLedger
from talkme_consultant.profile import BusinessProfile


def build_calendar(settings: Settings, profile: BusinessProfile) -> YclientsClient | None:
    """The YCLIENTS client, or None when booking is not configured."""
    if not settings.booking_enabled:
        return None
    return YclientsClient.from_settings(settings, zone=profile.zone())


def booking_turns(
    calendar: YclientsClient | None,
    ledger: BookingLedger,
    settings: Settings,
    profile: BusinessProfile,
) -> BookingTurns:
    """The booking dialogue for this profile; the confirmation names the first branch's address
    (a YCLIENTS company is one branch)."""
    address = profile.branches[0].address if profile.branches else ""
    options = BookingOptions(
        zone=profile.zone(),
        address=address,
        operator_code=settings.finish_code_operator or None,
        max_message_chars=settings.max_message_chars,
    )
    return BookingTurns(calendar, ledger, options)
