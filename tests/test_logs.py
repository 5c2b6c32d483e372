"""Logs: one JSON object a line, and never a phone number or a secret in clear."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from talkme_consultant.helpers.phones import extract_phones
from talkme_consultant.logs import QUIET_LIBRARIES, JsonFormatter, redact, setup_logging

TOKEN = "tm-4f9c2a7d1e8b6a3c5d0f"


@pytest.mark.parametrize(
    "phone",
    [
        "+7 916 123-45-67",
        "+7 (916) 123-45-67",
        "+7 (916) 123 45 67",
        "+79161234567",
        "89161234567",
        "8 (916) 123-45-67",
        "8-916-123-45-67",
        "+7 916 1234567",
    ],
)
def test_phone_numbers_are_masked_keeping_the_last_two_digits(phone: str) -> None:
    masked = redact(f"lead from Анна, phone {phone}, wants a haircut")
    assert masked == "lead from Анна, phone +7 *** ***-**-67, wants a haircut"


def test_every_phone_in_a_line_is_masked() -> None:
    masked = redact("first 8 916 111-22-33, second +7 903 444 55 66")
    assert "111" not in masked
    assert "444" not in masked
    assert masked.count("+7 *** ***-**-") == 2


@pytest.mark.parametrize(
    "text", ["order 123456789012", "price 1500 rub", "at 2025-03-15 10:00", "id=33688"]
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"X-Token: {TOKEN}", "X-Token: ***"),
        (f"x-token={TOKEN}", "x-token=***"),
        (f"token={TOKEN}", "token=***"),
        (f'{{"token": "{TOKEN}", "x": 1}}', '{"token": "***", "x": 1}'),
        (f"Authorization: Bearer {TOKEN}", "Authorization: Bearer ***"),
        (f"authorization: bearer {TOKEN}", "authorization: bearer ***"),
        (f"OPENAI_API_KEY={TOKEN}", "OPENAI_API_KEY=***"),
        (f"api-key: {TOKEN}", "api-key: ***"),
        (f"X-Webhook-Secret: {TOKEN}", "X-Webhook-Secret: ***"),
        (f"POST /webhook/talkme?secret={TOKEN}", "POST /webhook/talkme?secret=***"),
        (f"access_token={TOKEN}&page=2", "access_token=***&page=2"),
    ],
)
def test_token_like_values_are_masked(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_counts_named_like_tokens_are_not_secrets() -> None:
    assert redact("prompt_tokens: 120, tokens=5") == "prompt_tokens: 120, tokens=5"


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("talkme.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_the_json_formatter_writes_one_parseable_object_per_record() -> None:
    line = JsonFormatter().format(_record("turn for %s took %.1f s", "visitor-1", 1.25))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["logger"] == "talkme.test"
    assert entry["msg"] == "turn for visitor-1 took 1.2 s"
    assert entry["ts"].endswith("+00:00")


def test_the_json_formatter_never_prints_a_token_or_a_phone() -> None:
    try:
        raise RuntimeError(f"TalkMe refused X-Token: {TOKEN} for +7 916 123-45-67")
    except RuntimeError as error:
        record = _record(
            'send failed: token=%s body={"token": "%s"} phone %s',
            TOKEN,
            TOKEN,
            "89161234567",
            exc=error,
        )
    line = JsonFormatter().format(record)
    assert TOKEN not in line
    assert "123-45" not in line
    assert "9161234567" not in line
    entry = json.loads(line)
    assert "RuntimeError" in entry["exc"]
    assert "***" in entry["msg"]


def test_non_ascii_text_stays_readable() -> None:
    entry = json.loads(JsonFormatter().format(_record("Здравствуйте, Анна")))
    assert entry["msg"] == "Здравствуйте, Анна"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in levels.items():
        logging.getLogger(name).setLevel(library_level)


@pytest.mark.usefixtures("restore_logging")
def test_setup_logging_sends_redacted_json_to_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    setup_logging("debug")
    logging.getLogger("talkme_consultant.web").info("webhook with token=%s", TOKEN)
    logging.getLogger("httpx").info("GET https://x/?secret=%s", TOKEN)

    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["msg"] for line in lines] == ["webhook with token=***"]
    assert logging.getLogger("httpx").level == logging.WARNING, "URLs may carry secrets"


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a developer's stderr does."""

    def isatty(self) -> bool:
        return True


@pytest.mark.usefixtures("restore_logging")
def test_a_terminal_gets_readable_lines_redacted_like_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    setup_logging("info", [TOKEN])
    try:
        raise RuntimeError(f"refused {TOKEN}")
    except RuntimeError:
        logging.getLogger("talkme_consultant.web").exception("call +7 916 123-45-67 failed")

    text = stream.getvalue()
    assert "INFO" not in text and "ERROR   talkme_consultant.web: call" in text
    assert TOKEN not in text and "123-45" not in text
    assert "RuntimeError" in text, "the traceback is kept, redacted"
    assert not text.lstrip().startswith("{")


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(("log_format", "json_lines"), [("json", True), ("text", False)])
def test_log_format_overrides_the_terminal_check(
    monkeypatch: pytest.MonkeyPatch, log_format: str, json_lines: bool
) -> None:
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    setup_logging("info", log_format=log_format)
    logging.getLogger("talkme_consultant").warning("Здравствуйте")
    line = stream.getvalue().strip()
    assert line.startswith("{") is json_lines
    assert "Здравствуйте" in line


CARD = "2200 7012 3456 7896"  # a Luhn-valid Mir card number


@pytest.mark.parametrize(
    "card",
    [CARD, "2200701234567896", "2200-7012-3456-7896", "4111 1111 1111 1111", "3782 822463 10005"],
)
def test_card_numbers_are_masked_keeping_the_last_four_digits(card: str) -> None:
    masked = redact(f"оплачу картой {card}, спасибо")
    digits = "".join(ch for ch in card if ch.isdigit())
    assert masked == f"оплачу картой **** {digits[-4:]}, спасибо"


def test_a_card_number_inside_a_longer_run_of_numbers_is_still_masked() -> None:
    masked = redact(f"карта {CARD} 12 до 05/29")
    assert "7012" not in masked and "3456" not in masked
    assert "**** 7896" in masked


@pytest.mark.parametrize(
    "text", ["order 2200 7012 3456 7897", "invoice 1234567890123", "ids 1 2 3 4 5 6 7 8 9 10"]
)
def test_digit_runs_that_fail_the_luhn_check_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "email", ["anna.petrova@example.ru", "ivan+booking@mail.co.uk", "o_k-1@почта.рф"]
)
def test_e_mail_addresses_are_masked(email: str) -> None:
    assert redact(f"visitor wrote {email}, please call") == "visitor wrote ***@***, please call"


def test_a_secret_in_a_url_query_is_masked_but_the_other_parameters_stay() -> None:
    line = f'127.0.0.1:52814 - "POST /webhook/talkme?secret={TOKEN}&site=7 HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1:52814 - "POST /webhook/talkme?secret=***&site=7 HTTP/1.1" 200'


def test_a_password_in_a_url_is_masked() -> None:
    masked = redact(f"connecting to postgresql+asyncpg://talkme:{TOKEN}@db:5432/talkme")
    assert masked == "connecting to postgresql+asyncpg://talkme:***@db:5432/talkme"


def test_sql_parameters_in_an_error_message_are_dropped() -> None:
    message = (
        "(sqlite3.IntegrityError) UNIQUE constraint failed: conversations.key\n"
        "[SQL: INSERT INTO conversations (key, token) VALUES (?, ?)]\n"
        f"[parameters: ('visitor-1', '{TOKEN}')]"
    )
    masked = redact(message)
    assert TOKEN not in masked
    assert "[parameters hidden]" in masked and "INSERT INTO conversations" in masked


def test_a_bare_bearer_credential_is_masked_but_plain_words_are_not() -> None:
    assert redact(f"retrying with Bearer {TOKEN}") == "retrying with Bearer ***"
    assert redact("basic validation failed") == "basic validation failed"


def test_configured_secrets_are_masked_wherever_they_appear() -> None:
    formatter = JsonFormatter(known_secrets=[TOKEN, ""])
    line = formatter.format(_record("key is %s and %s!", TOKEN, f"prefix{TOKEN}suffix"))
    assert TOKEN not in line
    assert json.loads(line)["msg"] == "key is *** and prefix***suffix!"


def test_a_traceback_never_shows_an_e_mail_a_card_or_a_token() -> None:
    try:
        raise ValueError(f"bad lead anna.petrova@example.ru {CARD} Bearer {TOKEN}")
    except ValueError as error:
        record = _record("turn failed", exc=error)
    line = JsonFormatter().format(record)
    for value in ("anna.petrova", "2200 7012", TOKEN):
        assert value not in line
    assert "ValueError" in json.loads(line)["exc"]


# -- known defects --------------------------------------------------------------------------


def test_a_logged_python_dict_does_not_leak_its_token() -> None:
    assert TOKEN not in redact(str({"token": TOKEN, "text": "Привет"}))


def test_basic_credentials_are_masked() -> None:
    assert "dXNlcjpwYXNz" not in redact("Authorization: Basic dXNlcjpwYXNz")


@pytest.mark.parametrize("phone", ["9161234567", "7 916 123 45 67", "+44 20 7946 0958"])
def test_every_number_the_bot_takes_for_a_phone_is_masked(phone: str) -> None:
    assert extract_phones(phone), "the bot reads it as a phone"
    masked = redact(f"visitor left {phone}")
    assert not extract_phones(masked), masked


@pytest.mark.usefixtures("restore_logging")
def test_libraries_stay_quiet_at_debug_even_if_they_turn_their_own_loggers_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    setup_logging("DEBUG")
    # What OPENAI_LOG=debug or create_engine(echo=True) do after start-up.
    for name in ("openai", "sqlalchemy.engine.Engine", "httpcore.http11"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger("openai._base_client").debug("Request options: {'json_data': ...}")
    logging.getLogger("sqlalchemy.engine.Engine").info("[generated in 0.0001s] ('tok', '+7916')")
    logging.getLogger("httpcore.http11").debug("send_request_body.started")
    logging.getLogger("some_new_dependency").info("POST body {'text': ...}")
    logging.getLogger("uvicorn.access").info('127.0.0.1:5 - "POST /webhook/talkme HTTP/1.1" 200')
    logging.getLogger("sqlalchemy.pool").warning("connection pool exhausted")
    logging.getLogger("talkme_consultant.service").debug("turn done")

    messages = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert messages == [
        '127.0.0.1:5 - "POST /webhook/talkme HTTP/1.1" 200',
        "connection pool exhausted",
        "turn done",
    ]
    assert all(logging.getLogger(n).level == logging.WARNING for n in ("asyncpg", "aiosqlite"))
