"""Forgetting visitors on the owner's request: everything stored about them, their words in the
owner's lessons included (`store.forgotten_words`), and the served index rebuilt without those
words at once (other processes follow the knowledge version within seconds)."""

from __future__ import annotations

from talkme_consultant.service.clock import now
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.store.conversations import ConversationRepository


async def forget_visitor(
    conversations: ConversationRepository, knowledge: KnowledgeBase, key: str
) -> bool:
    """Forget the visitor of conversation `key`; False when nothing was stored about them."""
    known = await conversations.delete(key, now=now())
    # Rebuilds only when the version moved: cheap when no lesson held their words.
    knowledge.request_refresh()
    return known


async def forget_every_visitor(
    conversations: ConversationRepository, knowledge: KnowledgeBase
) -> int:
    """Forget every visitor; returns how many conversations there were."""
    count = await conversations.delete_all(now=now())
    knowledge.request_refresh()
    return count
