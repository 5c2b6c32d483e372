"""talkme-consultant: a self-hosted AI consultant for the TalkMe online chat."""

__version__ = "0.1.0"
