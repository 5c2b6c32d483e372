"""The worker role's parts: turn workers, the outbox dispatcher, the wake-up listener and what the
TalkMe account API key enables.

`Workers.start` builds them all and starts their loops, so a `Workers` is never half made: a
process either runs workers (`serve`, `worker`) and has one, or serves HTTP only and has none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx

from talkme_consultant.config import Settings
from talkme_consultant.dialog.engine import DialogEngine
from talkme_consultant.helpers.kinds import CallStatus
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.profile import BusinessProfile
from talkme_consultant.service.availability import OperatorPresence
from talkme_consultant.service.dispatcher import (
    OutboxDispatcher,
    RetryPolicy,
    Sender,
    routed_sender,
    talkme_sender,
)
from talkme_consultant.service.harvest import HarvestSettings, OperatorAnswerHarvester
from talkme_consultant.service.turn_settings import TurnSettings
from talkme_consultant.service.turns import TurnRunner
from talkme_consultant.service.webhooks_first import WebhooksFirst
from talkme_consultant.store.notifications import (
    INBOX_CHANNEL,
    ChangeListener,
    supports_notifications,
)
from talkme_consultant.store.outbox import LANE_ACCOUNT
from talkme_consultant.store.store import Store
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.client import TalkMeClient

log = logging.getLogger(__name__)

# Client-card updates are retried this often, at most this far apart (about two hours).
ACCOUNT_ATTEMPTS = 30
ACCOUNT_BACKOFF_MAX = 300.0
# With wake-ups from the webhook (same process) or NOTIFY, polling is only a safety net.
FALLBACK_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class AccountServices:
    """What TALKME_ACCOUNT_API_KEY enables: the account API client, operator presence before each
    turn, and the harvest of operators' answers. They share one HTTP client."""

    http: httpx.AsyncClient
    client: AccountClient
    presence: OperatorPresence
    harvester: OperatorAnswerHarvester


def open_account(
    settings: Settings, store: Store, profile: Callable[[], BusinessProfile]
) -> AccountServices | None:
    """The account API's services, or None without a key (presence is then unknown)."""
    key = settings.account_api_key
    if key is None:
        return None
    http = httpx.AsyncClient(timeout=settings.talkme_timeout_seconds)
    talkme = TalkMeClient(
        settings.account_api_url, http=http, timeout=settings.talkme_timeout_seconds
    )
    client = AccountClient(talkme, key)
    presence = OperatorPresence(
        client,
        profile,
        cache_seconds=settings.operators_cache_seconds,
        timeout_seconds=settings.operators_timeout_seconds,
    )
    harvester = OperatorAnswerHarvester(
        store.operator_answers,
        client,
        HarvestSettings(interval_seconds=settings.harvest_interval_seconds),
    )
    return AccountServices(http=http, client=client, presence=presence, harvester=harvester)


@dataclass
class Workers:
    """One process's turn workers and outbox dispatcher, running from `start` until `stop`."""

    turns: TurnRunner
    dispatcher: OutboxDispatcher
    account: AccountServices | None  # None without TALKME_ACCOUNT_API_KEY
    listener: ChangeListener | None  # None without NOTIFY (SQLite): turns poll instead
    http: httpx.AsyncClient | None  # TalkMe's connection pool; None in test mode
    webhooks_first: WebhooksFirst | None  # None where webhooks are acknowledged elsewhere
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False, repr=False)

    @classmethod
    async def start(
        cls,
        settings: Settings,
        store: Store,
        *,
        owner: str,
        engine: Callable[[], DialogEngine],
        profile: Callable[[], BusinessProfile],
        on_turn_done: Callable[[TurnOutcome], Awaitable[None]],
        webhooks_here: bool,
    ) -> Workers:
        """Take back the leases this installation's earlier processes held, build the workers
        and start them. `webhooks_here`: this process also receives the webhooks, so a stored
        message wakes its turns directly."""
        await _take_back_leases(store, settings.instance_name, owner)
        http: httpx.AsyncClient | None = None
        sender: Sender
        if settings.talkme_test_mode:
            sender = _record_only
            done_status = CallStatus.RECORDED
        else:
            http = httpx.AsyncClient(
                timeout=settings.talkme_timeout_seconds,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
            sender = talkme_sender(TalkMeClient.from_settings(settings, http=http))
            done_status = CallStatus.SENT
        account = open_account(settings, store, profile)
        if not settings.talkme_test_mode:
            sender = routed_sender(sender, account.client if account is not None else None)
        dispatcher = _dispatcher(settings, store, sender, owner=owner, done_status=done_status)
        url = settings.resolved_database_url
        notified = supports_notifications(url)
        # A worker of its own hears of new messages only through the database: by NOTIFY where
        # there is one, else by polling often (SQLite shared by a web and a worker process).
        poll = FALLBACK_POLL_SECONDS if webhooks_here or notified else settings.worker_poll_seconds
        webhooks_first = WebhooksFirst() if webhooks_here else None
        turns = TurnRunner(
            store.conversations,
            engine,
            TurnSettings(
                workers=settings.workers,
                lease_seconds=settings.lease_seconds,
                typing_ttl=settings.typing_ttl_seconds,
                max_turn_chars=settings.max_turn_chars,
                timezone=profile().zone(),
                max_attempts=settings.turn_max_attempts,
                retry_base_seconds=settings.turn_retry_base_seconds,
                poll_seconds=poll,
            ),
            owner=owner,
            on_calls_queued=dispatcher.wakeup.set,
            on_turn_done=on_turn_done,
            presence=account.presence.now if account is not None else None,
            account_calls=account is not None,
            webhooks_first=webhooks_first,
        )
        listener = ChangeListener(url, {INBOX_CHANNEL: turns.notify}) if notified else None
        workers = cls(turns, dispatcher, account, listener, http, webhooks_first)
        workers._launch()
        return workers

    def _launch(self) -> None:
        self._tasks = [
            asyncio.create_task(self.turns.run(), name="turns"),
            asyncio.create_task(self.dispatcher.run(), name="outbox"),
        ]
        if self.account is not None:
            self._tasks.append(asyncio.create_task(self.account.harvester.run(), name="harvest"))
        if self.listener is not None:
            self._tasks.append(asyncio.create_task(self.listener.run(), name="wakeups"))

    @contextlib.contextmanager
    def storing(self) -> Iterator[None]:
        """Around storing a webhook of this process: turns give way to it (see
        `service/webhooks_first.py`)."""
        if self.webhooks_first is None:
            yield
            return
        with self.webhooks_first.storing():
            yield

    def message_stored(self) -> None:
        """A webhook of this process stored a message: look for due turns now."""
        self.turns.notify()

    async def stop(self) -> None:
        """Cancel the loops and close the HTTP clients."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.http is not None:
            await self.http.aclose()
        if self.account is not None:
            await self.account.http.aclose()


async def _take_back_leases(store: Store, installation: str, owner: str) -> None:
    # Whatever this installation's earlier processes held when they were stopped (or killed)
    # is orphaned now; this process holds its own leases under a fresh owner.
    released = await store.conversations.release_installation(installation, except_owner=owner)
    released += await store.outbox.release_installation(installation, except_owner=owner)
    if released:
        log.info("took back %d lease(s) held before the restart", released)


def _dispatcher(
    settings: Settings, store: Store, sender: Sender, *, owner: str, done_status: CallStatus
) -> OutboxDispatcher:
    # A client card is no visitor waiting: its update outlasts an account API outage of a
    # couple of hours rather than the reply's few minutes.
    account_policy = _retry_policy(
        settings, at_least_attempts=ACCOUNT_ATTEMPTS, at_least_max_seconds=ACCOUNT_BACKOFF_MAX
    )
    return OutboxDispatcher(
        store.outbox,
        sender,
        _retry_policy(settings),
        owner=owner,
        done_status=done_status,
        lane_policies={LANE_ACCOUNT: account_policy},
        # An attempt lasts at most the TalkMe timeout; a longer lease only delays recovery.
        lease_seconds=settings.talkme_timeout_seconds * 2 + 5,
    )


def _retry_policy(
    settings: Settings, *, at_least_attempts: int = 0, at_least_max_seconds: float = 0.0
) -> RetryPolicy:
    """The OUTBOX_* retry settings, raised to the given floors."""
    return RetryPolicy(
        max_attempts=max(settings.outbox_max_attempts, at_least_attempts),
        base_seconds=settings.outbox_backoff_base_seconds,
        max_seconds=max(settings.outbox_backoff_max_seconds, at_least_max_seconds),
    )


async def _record_only(method: str, token: str, body: dict[str, object]) -> None:
    """Test mode: nothing goes to TalkMe; the outbox row, marked "recorded", is the record."""
    log.debug("test mode: recorded %s without sending", method)
