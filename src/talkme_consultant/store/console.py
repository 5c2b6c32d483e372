"""What the owner's console keeps in the store: signed-in sessions and, for several hosts, the
secret that signs its cookies.

A session is a row from sign-in to sign-out (or expiry), read on every console request, so
signing out on one device or process ends that session on every process. Rows are written only
for a right admin token: an anonymous visitor never makes the store grow.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select

from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import ConsoleSecret, SignedInSession
from talkme_consultant.store.upsert import insert_for


def session_digest(session_id: str) -> str:
    """What the store keeps of a session id: its SHA-256 (the id has 256 random bits, so no
    salt or slow hash is needed to keep it from being recovered)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class ConsoleRepository:
    """Signed-in sessions and the console's shared secrets."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def secret(self, name: str, candidate: bytes, now: float) -> bytes:
        """The secret called `name`: `candidate` if none was kept yet, else the one kept. Any
        number of processes may ask at once; all get the first one stored."""
        async with self._sessions.write() as session:
            await session.execute(
                insert_for(session, ConsoleSecret)
                .values(name=name, value=candidate, created_at=now)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            kept = await session.scalar(
                select(ConsoleSecret.value).where(ConsoleSecret.name == name)
            )
        assert kept is not None, "the row was just stored or already there"
        return bytes(kept)

    async def start_session(self, session_id: str, now: float, lifetime: float) -> None:
        """Keep a signed-in session until `now + lifetime`; forget those already expired."""
        async with self._sessions.write() as session:
            await session.execute(delete(SignedInSession).where(SignedInSession.expires_at <= now))
            session.add(
                SignedInSession(
                    digest=session_digest(session_id), created_at=now, expires_at=now + lifetime
                )
            )

    async def session_alive(self, session_id: str, now: float) -> bool:
        """True while the session is signed in: not signed out of, not expired."""
        async with self._sessions.read() as session:
            found = await session.scalar(
                select(SignedInSession.digest).where(
                    SignedInSession.digest == session_digest(session_id),
                    SignedInSession.expires_at > now,
                )
            )
        return found is not None

    async def end_session(self, session_id: str) -> bool:
        """Sign the session out everywhere; False when it was not signed in."""
        async with self._sessions.write() as session:
            result = await session.execute(
                delete(SignedInSession).where(SignedInSession.digest == session_digest(session_id))
            )
            return bool(getattr(result, "rowcount", 0))
