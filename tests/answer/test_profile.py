"""The business profile: loading the owner's YAML and listing its facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkme_consultant.config import SAMPLE_PROFILE_PATH
from talkme_consultant.profile import ProfileError, load_profile

MINIMAL = "name: Салон «Тест»\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_profile_loads_and_every_fact_is_listed() -> None:
    profile = load_profile(SAMPLE_PROFILE_PATH)
    facts = profile.facts_text()

    assert profile.name in facts
    assert profile.branches, "the sample has branches"
    for branch in profile.branches:
        assert branch.address in facts
        assert branch.phone is not None and branch.phone in facts
        assert branch.hours_text() and branch.hours_text() in facts
        for station in branch.metro:
            assert station in facts
    for contact in (profile.contacts.email, profile.contacts.website, profile.contacts.whatsapp):
        assert contact is not None and contact in facts
    assert profile.messages.booking in facts  # ready-made texts are the owner's words as well


def test_a_minimal_profile_gets_neutral_defaults(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, MINIMAL))

    assert profile.name == "Салон «Тест»"
    assert profile.tone.address_form == "вы"
    assert profile.messages.handoff
    assert profile.facts_text().startswith("Название: Салон «Тест»")


def test_hours_may_be_one_line_or_labelled_days(tmp_path: Path) -> None:
    profile = load_profile(
        write(
            tmp_path,
            MINIMAL
            + "branches:\n"
            + "  - {id: a, name: А, address: ул. 1, hours: ежедневно с 10:00 до 22:00}\n"
            + "  - {id: b, name: Б, address: ул. 2, hours: {weekdays: с 9:00 до 21:00,"
            + " sunday: выходной}}\n",
        )
    )

    assert profile.branches[0].hours_text() == "ежедневно с 10:00 до 22:00"
    assert profile.branches[1].hours_text() == "пн–пт с 9:00 до 21:00, вс выходной"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"nope\.yaml: business profile file not found"):
        load_profile(tmp_path / "nope.yaml")


def test_broken_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nbranches: [\n  - a: b\n")
    with pytest.raises(ProfileError, match=r"profile\.yaml: not valid YAML at line \d+"):
        load_profile(path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("description: без названия\n", "name: Field required"),
        (MINIMAL + "handof:\n  triggers: []\n", "handof: Extra inputs are not permitted"),
        (MINIMAL + "branches:\n  - {id: a, name: А}\n", "branches.0.address: Field required"),
        (MINIMAL + "tone: {address_form: сударь}\n", "tone.address_form"),
        (MINIMAL + "must_not: не грубить\n", "must_not"),
    ],
)
def test_invalid_fields_are_named_with_the_file(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    message = str(raised.value)
    assert str(path) in message
    assert field in message


def test_a_profile_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="mapping"):
        load_profile(write(tmp_path, "- just\n- a list\n"))
