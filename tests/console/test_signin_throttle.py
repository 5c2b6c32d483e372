"""The sign-in throttle's rule, with explicit times: per address, and for everyone together.

What reaches it over HTTP (which address counts, the 429 and its Retry-After) is specified in
`test_console_sessions.py`; here are the sums behind it.
"""

from __future__ import annotations

from talkme_consultant.web.console.session import SignInThrottle, client_key

T0 = 1_000.0
WINDOW = 300.0


def fail_from(throttle: SignInThrottle, clients: list[str], at: float) -> None:
    for client in clients:
        assert throttle.retry_after(client, at) == 0, f"{client} may still try"
        throttle.failed(client, at)


def test_an_address_waits_after_five_failures_until_the_first_leaves_the_window() -> None:
    throttle = SignInThrottle()
    fail_from(throttle, ["203.0.113.1"] * 4, T0)
    throttle.failed("203.0.113.1", T0 + 60)
    assert throttle.retry_after("203.0.113.1", T0 + 60) == WINDOW - 60
    assert throttle.retry_after("203.0.113.2", T0 + 60) == 0, "another address is not held"
    fail_from(throttle, ["203.0.113.1"] * 4, T0 + WINDOW)
    assert throttle.retry_after("203.0.113.1", T0 + WINDOW) == 60, "the later failure still counts"


def test_the_right_token_clears_its_address() -> None:
    throttle = SignInThrottle()
    fail_from(throttle, ["203.0.113.1"] * 4, T0)
    throttle.succeeded("203.0.113.1")
    fail_from(throttle, ["203.0.113.1"] * 4, T0 + 1)


def test_addresses_taking_turns_meet_the_cap_on_everyone_within_the_window() -> None:
    throttle = SignInThrottle()
    rotating = [f"198.51.100.{number}" for number in range(throttle.total)]
    fail_from(throttle, rotating, T0)
    assert throttle.retry_after("192.0.2.99", T0 + 10) == WINDOW - 10, "a fresh address waits"
    # Attempts refused while held are not failures: hammering does not make the wait longer.
    for second in range(11, 100):
        assert throttle.retry_after(f"192.0.2.{second}", T0 + second) == WINDOW - second
    assert throttle.retry_after("192.0.2.99", T0 + WINDOW) == 0, "never longer than the window"


def test_the_cap_on_everyone_frees_as_its_failures_age() -> None:
    throttle = SignInThrottle()
    early = [f"198.51.100.{number}" for number in range(throttle.total // 2)]
    late = [f"198.51.101.{number}" for number in range(throttle.total - len(early))]
    fail_from(throttle, early, T0)
    fail_from(throttle, late, T0 + 100)
    assert throttle.retry_after("192.0.2.1", T0 + 150) == WINDOW - 150
    fail_from(throttle, [f"192.0.2.{number}" for number in range(len(early))], T0 + WINDOW)
    assert throttle.retry_after("192.0.2.99", T0 + WINDOW) == 100, "until the late ones age"


def test_ipv6_clients_count_by_their_64_bit_network() -> None:
    # A single subscriber gets a whole /64: its addresses are one client, not 2**64.
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:203.0.113.5") == client_key("203.0.113.5") == "203.0.113.5"
    throttle = SignInThrottle()
    fail_from(throttle, [f"2001:db8:1:2::{number}" for number in range(1, 6)], T0)
    assert throttle.retry_after("2001:db8:1:2::77", T0) == WINDOW
    assert throttle.retry_after("2001:db8:1:3::1", T0) == 0
