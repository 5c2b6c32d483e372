"""The account API client against the simulator over real HTTP: every method, the key, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.account_wire import ClientCard, messages_body
from talkme_consultant.talkme.client import TalkMeClient, TalkMeError
from talkme_consultant.talkme.identity import search_id_key
from talkme_consultant.talkme.simulator import DEFAULT_ACCOUNT_KEY, RunningSimulator

CLIENT = "xI4W-client-1"


@pytest.fixture
def account(client: TalkMeClient) -> AccountClient:
    return AccountClient(client, DEFAULT_ACCOUNT_KEY)


async def test_operators_are_offline_until_one_comes_online(
    account: AccountClient, sim: RunningSimulator
) -> None:
    assert not await account.anyone_online()

    sim.state.account.set_operator(1, online=True)
    operators = await account.operators()

    assert [op.online for op in operators.items] == [True]
    assert await account.anyone_online()


async def test_a_wrong_key_is_a_permanent_error_that_does_not_quote_the_key(
    client: TalkMeClient, sim: RunningSimulator
) -> None:
    wrong = AccountClient(client, "not-the-cabinet-key")

    with pytest.raises(TalkMeError) as caught:
        await wrong.operators()

    assert caught.value.status == 401
    assert not caught.value.retryable
    assert "not-the-cabinet-key" not in str(caught.value)
    assert [c.key_ok for c in sim.state.account.calls("chat/operator/getList")] == [False]


async def test_an_api_that_is_down_is_a_retryable_error(
    account: AccountClient, sim: RunningSimulator
) -> None:
    sim.state.account.set_mode("down")

    with pytest.raises(TalkMeError) as caught:
        await account.operators()

    assert caught.value.retryable
    assert caught.value.status == 503


async def test_a_slow_api_times_out_within_the_clients_bound(
    account: AccountClient, sim: RunningSimulator
) -> None:
    sim.state.account.set_mode("slow", delay=10)

    with pytest.raises(TalkMeError) as caught:
        await account.operators()

    assert caught.value.retryable
    assert "timed out" in str(caught.value)


async def test_set_info_fills_the_client_card(
    account: AccountClient, sim: RunningSimulator
) -> None:
    card = ClientCard(
        name="Анна",
        phone="+79161234567",
        custom_data={"interest": "маникюр", "summary": "Хочет записаться на субботу"},
    )

    await account.set_client_info(CLIENT, card)

    assert sim.state.account.card(CLIENT) == {
        "name": "Анна",
        "phone": "+79161234567",
        "customData": {"interest": "маникюр", "summary": "Хочет записаться на субботу"},
    }


async def test_a_search_id_key_names_the_client_by_its_id(
    account: AccountClient, sim: RunningSimulator
) -> None:
    await account.set_client_info(search_id_key(33538), ClientCard(name="Олег"))

    assert sim.state.account.card(search_id_key(33538)) == {"name": "Олег"}
    assert sim.state.account.card("33538") == {}, "the clientId 33538 is someone else"
    assert sim.state.account.calls("chat/client/setInfo")[0].body == {
        "client": {"id": 33538, "name": "Олег"}
    }


async def test_an_all_digit_client_id_is_sent_as_client_id_never_as_search_id(
    account: AccountClient, sim: RunningSimulator
) -> None:
    sim.state.account.add_message("33538", "operator", "Ответ клиенту 33538")
    sim.state.account.add_message(search_id_key(33538), "operator", "Ответ другому клиенту")

    await account.set_client_info("33538", ClientCard(name="Анна"))
    messages = await account.client_messages("33538")

    assert [m.text for m in messages] == ["Ответ клиенту 33538"]
    assert sim.state.account.card("33538") == {"name": "Анна"}
    assert sim.state.account.card(search_id_key(33538)) == {}
    bodies = [call.body["client"] for call in sim.state.account.calls()]
    assert bodies == [{"clientId": "33538", "name": "Анна"}, {"clientId": "33538"}]
    now = datetime.now(UTC).replace(microsecond=0)
    clients = await account.messages(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert sorted(c.conversation_key or "" for c in clients) == ["33538", search_id_key(33538)]


async def test_client_messages_come_back_in_order_with_who_sent_them(
    account: AccountClient, sim: RunningSimulator
) -> None:
    sim.state.account.add_message(CLIENT, "client", "Можно ли с аллергией?")
    sim.state.account.add_message(CLIENT, "operator", "Да, подберём гипоаллергенный лак.")

    messages = await account.client_messages(CLIENT)

    assert [(m.who_send, m.text) for m in messages] == [
        ("client", "Можно ли с аллергией?"),
        ("operator", "Да, подберём гипоаллергенный лак."),
    ]
    assert messages[1].by_operator
    assert messages[1].date_time_utc.tzinfo is not None


async def test_messages_in_a_range_are_grouped_by_client(
    account: AccountClient, sim: RunningSimulator
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sim.state.account.add_message(CLIENT, "operator", "Старый ответ", at=now - timedelta(days=20))
    sim.state.account.add_message(CLIENT, "operator", "Свежий ответ", at=now - timedelta(hours=1))

    clients = await account.messages(now - timedelta(days=2), now)

    assert [(c.conversation_key, [m.text for m in c.messages]) for c in clients] == [
        (CLIENT, ["Свежий ответ"])
    ]


def test_a_range_longer_than_fourteen_days_is_refused_before_any_call() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="14 days"):
        messages_body(now - timedelta(days=15), now)


async def test_tests_in_another_process_turn_the_knobs_over_http(
    account: AccountClient, sim: RunningSimulator
) -> None:
    async with httpx.AsyncClient(base_url=sim.url + "/_sim/account") as control:
        switched = await control.post("/operators", json={"id": 1, "online": True})
        assert switched.status_code == 200
        line = {"client": CLIENT, "whoSend": "operator", "text": "Добрый день!"}
        assert (await control.post("/messages", json=line)).status_code == 200
        await account.set_client_info(CLIENT, ClientCard(name="Анна"))

        seen = (await control.get(f"/clients/{CLIENT}")).json()
        assert seen["card"] == {"name": "Анна"}
        assert [m["text"] for m in seen["messages"]] == ["Добрый день!"]
        assert await account.anyone_online()

        assert (await control.post("/mode", json={"mode": "down"})).json() == {"mode": "down"}
        with pytest.raises(TalkMeError):
            await account.operators()
        refused = await control.post("/mode", json={"mode": "sideways"})
        assert refused.status_code == 422

    sim.state.reset()
    assert sim.state.account.card(CLIENT) == {}
    assert not await account.anyone_online(), "a reset takes every operator offline"
