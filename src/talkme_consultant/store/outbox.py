"""The outbox: TalkMe calls are made from here, in order per conversation, until they succeed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, String, Text, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from talkme_consultant.helpers.kinds import CallStatus
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.leases import lease_free, release_held
from talkme_consultant.store.models import OutboxCall, table_of
from talkme_consultant.store.upsert import greatest

LANE_BOT = "bot"
"""``customBot/*`` calls, made with the dialogue's token."""
LANE_ACCOUNT = "account"
"""Account API calls, made with the configured account key (the row keeps no token)."""

_OUTBOX = table_of(OutboxCall)


@dataclass(frozen=True)
class ClaimRequest:
    """What a dispatcher claims: at most `limit` calls, leased to `owner` for `lease_seconds`."""

    lease_seconds: float
    limit: int
    owner: str = ""


@dataclass(frozen=True)
class Claimed:
    """The calls a claim leased, oldest first; when it leased none, `next_at` says when the next
    call can go (None: nothing is waiting), so the dispatcher needs no second look to sleep. A
    claim made with a call's mark does not ask (`next_at` None): the one time it could learn
    there is a retry its own dispatcher set, which that dispatcher keeps in mind."""

    calls: list[OutboxCall]
    next_at: float | None = None


class OutboxRepository:
    """Claims, completes and reschedules outbox calls.

    The dispatcher's statements are Core on a plain connection (see `Sessions`), and a call's
    end can carry the next claim in its own transaction (`then_claim`): one commit instead of
    two after each batch.
    """

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def claim_ready(
        self, now: float, lease_seconds: float, limit: int, owner: str = ""
    ) -> list[OutboxCall]:
        """Lease the oldest pending call of each conversation (and lane) whose time has come
        (see `claim`)."""
        return (await self.claim(now, ClaimRequest(lease_seconds, limit, owner))).calls

    async def claim(self, now: float, request: ClaimRequest) -> Claimed:
        """Lease the oldest pending call of each conversation (and lane) whose time has come.

        Only the head of each conversation's queue is eligible, so a call waiting for a retry
        holds back the later calls of its conversation and replies never overtake each other.
        Account API calls (`LANE_ACCOUNT`) queue in a lane of their own: a client-card update
        that keeps failing never holds back a reply.
        """
        async with self._sessions.write_connection() as connection:
            return await _claim_in(connection, now, request)

    async def release_installation(self, instance_name: str, *, except_owner: str) -> int:
        """Free every call lease held by earlier processes of this installation (this process
        is their restart, so whatever they held is orphaned)."""
        async with self._sessions.write() as session:
            pending = OutboxCall.status == CallStatus.PENDING
            return await release_held(session, OutboxCall, instance_name, except_owner, pending)

    async def next_attempt_at(self) -> float | None:
        """When the next call can actually go: the earliest head of a conversation's queue,
        counting a leased head as due when its lease runs out (later calls wait for their head,
        so their own times do not matter)."""
        async with self._sessions.read() as session:
            heads = (
                select(func.min(OutboxCall.id))
                .where(OutboxCall.status == CallStatus.PENDING)
                .group_by(OutboxCall.conversation_key, OutboxCall.lane)
                .scalar_subquery()
            )
            lease = func.coalesce(OutboxCall.lease_until, 0.0)
            due = greatest(session, OutboxCall.next_attempt_at, lease)
            value = await session.scalar(select(func.min(due)).where(OutboxCall.id.in_(heads)))
            return float(value) if value is not None else None

    async def mark_done(
        self,
        call_id: int,
        status: CallStatus,
        now: float,
        *,
        then_claim: ClaimRequest | None = None,
    ) -> Claimed | None:
        """The call succeeded (`SENT`) or was recorded in test mode (`RECORDED`); with
        `then_claim`, the next calls are claimed in the same transaction."""
        values = {"call_id": call_id, "p_status": status, "p_now": now}
        return await self._end_attempt(_MARK_DONE, values, now, then_claim)

    async def mark_retry(
        self,
        call_id: int,
        error: str,
        next_attempt_at: float,
        *,
        now: float | None = None,
        then_claim: ClaimRequest | None = None,
    ) -> Claimed | None:
        """Try again later; with `then_claim`, claim the next calls as of `now`."""
        if then_claim is not None and now is None:
            raise ValueError("a claim needs the time it is made at")
        values = {"call_id": call_id, "p_error": error, "p_next": next_attempt_at}
        return await self._end_attempt(_MARK_RETRY, values, now or 0.0, then_claim)

    async def mark_failed(
        self, call_id: int, error: str, now: float, *, then_claim: ClaimRequest | None = None
    ) -> Claimed | None:
        """Give up on the call; it stays visible with its error and is counted in stats."""
        values = {"call_id": call_id, "p_error": error, "p_now": now}
        return await self._end_attempt(_MARK_FAILED, values, now, then_claim)

    async def _end_attempt(
        self, mark: Any, values: dict[str, Any], now: float, then_claim: ClaimRequest | None
    ) -> Claimed | None:
        async with self._sessions.write_connection() as connection:
            await connection.execute(mark, values)
            if then_claim is None:
                return None
            return await _claim_in(connection, now, then_claim, ask_next=False)

    async def list_calls(
        self, *, status: CallStatus | None = None, limit: int = 100
    ) -> list[OutboxCall]:
        """Newest calls first, for the owner's eyes."""
        async with self._sessions.read() as session:
            query = select(OutboxCall).order_by(OutboxCall.id.desc()).limit(limit)
            if status:
                query = query.where(OutboxCall.status == status)
            return list((await session.execute(query)).scalars())


def _heads() -> Any:
    """The oldest pending call of each conversation and lane: the only ones that may go."""
    return (
        select(func.min(_OUTBOX.c.id))
        .where(_OUTBOX.c.status == CallStatus.PENDING)
        .group_by(_OUTBOX.c.conversation_key, _OUTBOX.c.lane)
    )


# The dispatcher's statements are built once, with bound parameters: building a statement and
# its cache key anew for each call cost more Python than SQLite took to run it.
_NOW = bindparam("now", type_=Float)
_READY = (
    select(_OUTBOX.c.id)
    .where(_OUTBOX.c.id.in_(_heads()))
    .where(_OUTBOX.c.next_attempt_at <= _NOW)
    .where(lease_free(_OUTBOX.c.lease_until, _NOW))
    .order_by(_OUTBOX.c.id)
    .limit(bindparam("limit", type_=Integer))
)
# Status and lease are checked again on each row as the update finds it: another process may
# have claimed, sent and finished a call since the subquery read it, and a finished call has no
# lease either. Without the status, it would be sent a second time.
_CLAIM = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(_READY))
    .where(_OUTBOX.c.status == CallStatus.PENDING)
    .where(lease_free(_OUTBOX.c.lease_until, _NOW))
    .values(lease_owner=bindparam("owner", type_=String), lease_until=bindparam("until"))
    .returning(*_OUTBOX.c)
)
_LEASE_END = func.coalesce(_OUTBOX.c.lease_until, 0.0)
# When the next call can go: max(next attempt, lease end) of the heads, in SQL both dialects
# share.
_NEXT_AT = select(
    func.min(
        case((_OUTBOX.c.next_attempt_at > _LEASE_END, _OUTBOX.c.next_attempt_at), else_=_LEASE_END)
    )
).where(_OUTBOX.c.id.in_(_heads()))
_BY_ID = _OUTBOX.c.id == bindparam("call_id", type_=Integer)
_MARK_DONE = (
    update(_OUTBOX)
    .where(_BY_ID)
    .values(
        status=bindparam("p_status", type_=String),
        done_at=bindparam("p_now", type_=Float),
        lease_until=None,
        attempts=_OUTBOX.c.attempts + 1,
        last_error=None,
    )
)
_MARK_RETRY = (
    update(_OUTBOX)
    .where(_BY_ID)
    .values(
        attempts=_OUTBOX.c.attempts + 1,
        last_error=bindparam("p_error", type_=Text),
        next_attempt_at=bindparam("p_next", type_=Float),
        lease_until=None,
    )
)
_MARK_FAILED = (
    update(_OUTBOX)
    .where(_BY_ID)
    .values(
        status=CallStatus.FAILED,
        attempts=_OUTBOX.c.attempts + 1,
        last_error=bindparam("p_error", type_=Text),
        lease_until=None,
        done_at=bindparam("p_now", type_=Float),
    )
)


async def _claim_in(
    connection: AsyncConnection, now: float, request: ClaimRequest, *, ask_next: bool = True
) -> Claimed:
    """Claim in one UPDATE; when it leased nothing (and `ask_next`), read when the next call
    can go."""
    values = {
        "now": now,
        "limit": request.limit,
        "owner": request.owner,
        "until": now + request.lease_seconds,
    }
    claimed = await connection.execute(_CLAIM, values)
    calls = sorted((OutboxCall(**row._mapping) for row in claimed), key=lambda call: call.id)
    if calls or not ask_next:
        return Claimed(calls)
    value = await connection.scalar(_NEXT_AT)
    return Claimed([], float(value) if value is not None else None)
