"""A client's identity as a conversation key and back: the key says which identity it is."""

from __future__ import annotations

from talkme_consultant.talkme.identity import client_reference, key_for_client, search_id_key


def test_the_key_is_the_client_id_else_the_search_id_key_else_the_login() -> None:
    assert key_for_client("33538", 777, "login") == "33538"
    assert key_for_client(None, 777, "login") == "searchId:777"
    assert key_for_client(None, None, "login") == "login"
    assert key_for_client(None, None, None) is None


def test_each_key_names_the_client_by_the_identity_it_came_from() -> None:
    assert client_reference("33538") == {"clientId": "33538"}
    assert client_reference(search_id_key(33538)) == {"searchId": 33538}
    assert client_reference(search_id_key(-4)) == {"searchId": -4}
    assert client_reference("xI4W-client") == {"clientId": "xI4W-client"}
    assert client_reference("searchId:") == {"clientId": "searchId:"}
    assert client_reference("searchId:12a") == {"clientId": "searchId:12a"}
