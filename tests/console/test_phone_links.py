"""A visitor's phone on a console page: whole, as a `tel:` link to the number in one form."""

from __future__ import annotations

from talkme_consultant.web.console.phone_links import linked_phones, phone_link, whole_phone


def test_a_stored_phone_is_a_link_to_call_showing_the_whole_number() -> None:
    link = str(phone_link("8 (916) 123-45-67"))
    assert link == (
        '<a href="tel:+79161234567" class="phone" data-testid="phone-link">+7 916 123-45-67</a>'
    )


def test_a_foreign_number_keeps_its_country_code() -> None:
    assert 'href="tel:+442079460958"' in str(phone_link("+44 20 7946 0958"))


def test_text_that_is_no_phone_is_shown_as_it_is_without_a_link() -> None:
    assert str(phone_link("<спросить>")) == "&lt;спросить&gt;"
    assert str(phone_link(None)) == ""
    assert whole_phone("нет телефона") == "нет телефона"


def test_every_phone_in_a_message_is_a_link_that_keeps_the_visitor_s_writing() -> None:
    shown = str(linked_phones("Мой 8 916 123-45-67, рабочий +7(495)1234567 — звоните"))
    assert shown == (
        'Мой <a href="tel:+79161234567" class="phone" data-testid="phone-link">'
        "8 916 123-45-67</a>, рабочий "
        '<a href="tel:+74951234567" class="phone" data-testid="phone-link">+7(495)1234567</a>'
        " — звоните"
    )


def test_the_rest_of_the_text_is_escaped() -> None:
    shown = str(linked_phones('<script>alert("x")</script> 89161234567 & <b>'))
    assert "<script>" not in shown and "<b>" not in shown
    assert shown.startswith("&lt;script&gt;") and shown.endswith("&amp; &lt;b&gt;")
    assert 'href="tel:+79161234567"' in shown
