"""The bot's fixed phrases are the business profile's `messages`: one model, owned by the profile.

Answerers and dialog policies speak of them as phrases; the owner edits them in the profile YAML.
"""

from __future__ import annotations

from talkme_consultant.profile import Messages as Phrases

__all__ = ["Phrases"]
