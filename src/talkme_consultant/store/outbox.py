"""The outbox: TalkMe calls are made from here, in order per conversation, until they succeed."""

from __future__ import annotations

from sqlalchemy import func, select, update

from talkme_consultant.helpers.kinds import CallStatus
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.leases import lease_free, release_held
from talkme_consultant.store.models import OutboxCall
from talkme_consultant.store.upsert import greatest

LANE_BOT = "bot"
"""``customBot/*`` calls, made with the dialogue's token."""
LANE_ACCOUNT = "account"
"""Account API calls, made with the configured account key (the row keeps no token)."""


class OutboxRepository:
    """Claims, completes and reschedules outbox calls."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def claim_ready(
        self, now: float, lease_seconds: float, limit: int, owner: str = ""
    ) -> list[OutboxCall]:
        """Lease the oldest pending call of each conversation (and lane) whose time has come.

        Only the head of each conversation's queue is eligible, so a call waiting for a retry
        holds back the later calls of its conversation and replies never overtake each other.
        Account API calls (`LANE_ACCOUNT`) queue in a lane of their own: a client-card update
        that keeps failing never holds back a reply.
        """
        async with self._sessions.write() as session:
            heads = (
                select(func.min(OutboxCall.id))
                .where(OutboxCall.status == CallStatus.PENDING)
                .group_by(OutboxCall.conversation_key, OutboxCall.lane)
                .scalar_subquery()
            )
            rows = await session.execute(
                select(OutboxCall.id)
                .where(OutboxCall.id.in_(heads))
                .where(OutboxCall.next_attempt_at <= now)
                .where(lease_free(OutboxCall.lease_until, now))
                .order_by(OutboxCall.id)
                .limit(limit)
            )
            ids = list(rows.scalars())
            if not ids:
                return []
            # Checked again on each row as the update finds it: another process may have
            # claimed, sent and finished a call since the select above, and a finished call
            # has no lease either. Without the status, it would be sent a second time.
            claimed = await session.execute(
                update(OutboxCall)
                .where(OutboxCall.id.in_(ids))
                .where(OutboxCall.status == CallStatus.PENDING)
                .where(lease_free(OutboxCall.lease_until, now))
                .values(lease_owner=owner, lease_until=now + lease_seconds)
                .returning(OutboxCall)
            )
            return sorted(claimed.scalars(), key=lambda call: call.id)

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

    async def mark_done(self, call_id: int, status: CallStatus, now: float) -> None:
        """The call succeeded (`SENT`) or was recorded in test mode (`RECORDED`)."""
        async with self._sessions.write() as session:
            await session.execute(
                update(OutboxCall)
                .where(OutboxCall.id == call_id)
                .values(
                    status=status,
                    done_at=now,
                    lease_until=None,
                    attempts=OutboxCall.attempts + 1,
                    last_error=None,
                )
            )

    async def mark_retry(self, call_id: int, error: str, next_attempt_at: float) -> None:
        """Try again later."""
        async with self._sessions.write() as session:
            await session.execute(
                update(OutboxCall)
                .where(OutboxCall.id == call_id)
                .values(
                    attempts=OutboxCall.attempts + 1,
                    last_error=error,
                    next_attempt_at=next_attempt_at,
                    lease_until=None,
                )
            )

    async def mark_failed(self, call_id: int, error: str, now: float) -> None:
        """Give up on the call; it stays visible with its error and is counted in stats."""
        async with self._sessions.write() as session:
            await session.execute(
                update(OutboxCall)
                .where(OutboxCall.id == call_id)
                .values(
                    status=CallStatus.FAILED,
                    attempts=OutboxCall.attempts + 1,
                    last_error=error,
                    lease_until=None,
                    done_at=now,
                )
            )

    async def list_calls(
        self, *, status: CallStatus | None = None, limit: int = 100
    ) -> list[OutboxCall]:
        """Newest calls first, for the owner's eyes."""
        async with self._sessions.read() as session:
            query = select(OutboxCall).order_by(OutboxCall.id.desc()).limit(limit)
            if status:
                query = query.where(OutboxCall.status == status)
            return list((await session.execute(query)).scalars())
