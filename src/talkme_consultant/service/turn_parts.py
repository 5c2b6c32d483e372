"""What a turn and the give-up of a failed one share: the store, the engine, the settings, who
this worker is, and what is written and done around the commit that ends a turn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from talkme_consultant.dialog.engine import DialogEngine
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.service.turn_records import add_account_effects, to_result
from talkme_consultant.service.turn_settings import TurnSettings
from talkme_consultant.store.conversations import ConversationRepository
from talkme_consultant.store.models import Conversation
from talkme_consultant.store.turn_writes import TurnResult


@dataclass(frozen=True)
class TurnParts:
    """The parts a turn is run with. With `account_calls`, a turn also updates the visitor's
    TalkMe card and keeps a handed-over question for the operator's answer to be read."""

    conversations: ConversationRepository
    engine_provider: Callable[[], DialogEngine]
    settings: TurnSettings
    owner: str
    account_calls: bool
    on_calls_queued: Callable[[], None]
    on_turn_done: Callable[[TurnOutcome], Awaitable[None]] | None

    def result_of(
        self, outcome: TurnOutcome, consumed: list[int], conversation: Conversation
    ) -> TurnResult:
        """What the turn's commit writes for `outcome`, the waiting messages it consumed."""
        result = to_result(outcome, consumed)
        if self.account_calls:
            add_account_effects(result, conversation, outcome)
        return result

    async def committed(self, outcome: TurnOutcome) -> None:
        """After the commit: the dispatcher is woken for the calls queued, and whoever watches
        turns is told."""
        self.on_calls_queued()
        if self.on_turn_done is not None:
            await self.on_turn_done(outcome)
