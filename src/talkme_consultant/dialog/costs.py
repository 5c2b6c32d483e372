"""Estimated model cost from token counts and configurable per-model prices, and a turn's
model spend added up."""

from __future__ import annotations

from dataclasses import dataclass

from talkme_consultant.answer.base import Draft, Usage
from talkme_consultant.helpers.outcome import TurnOutcome


@dataclass(frozen=True)
class Price:
    """Price per one million tokens, in the owner's currency."""

    prompt: float
    completion: float


def parse_prices(spec: str) -> dict[str, Price]:
    """Parse `LLM_PRICES`: `model=prompt/completion` pairs separated by commas or semicolons,
    prices per million tokens, e.g. `gpt-4o-mini=0.15/0.60;yandexgpt-lite=0.2/0.2`."""
    prices: dict[str, Price] = {}
    for item in spec.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            model, values = item.split("=", 1)
            prompt, completion = values.split("/", 1)
            prices[model.strip()] = Price(float(prompt), float(completion))
        except ValueError as error:
            raise ValueError(
                f"LLM_PRICES entry {item!r} is not model=prompt/completion (per 1M tokens)"
            ) from error
    return prices


def estimate_cost(
    prices: dict[str, Price], model: str, prompt_tokens: int, completion_tokens: int
) -> float:
    """Cost of one call; zero for a model without a configured price."""
    price = prices.get(model)
    if price is None:
        return 0.0
    return (prompt_tokens * price.prompt + completion_tokens * price.completion) / 1_000_000


def add_usage(outcome: TurnOutcome, usage: Usage, prices: dict[str, Price]) -> None:
    """Add one model call's tokens, estimated cost and time to the turn's."""
    if not (usage.prompt_tokens or usage.completion_tokens or usage.latency_ms):
        return  # no model was called
    outcome.prompt_tokens += usage.prompt_tokens
    outcome.completion_tokens += usage.completion_tokens
    outcome.cost += estimate_cost(prices, usage.model, usage.prompt_tokens, usage.completion_tokens)
    outcome.model_latency_ms = (outcome.model_latency_ms or 0.0) + usage.latency_ms


def add_draft_usage(outcome: TurnOutcome, draft: Draft, prices: dict[str, Price]) -> None:
    """Add a draft's model usage to the turn (every model call counts), once."""
    if draft.usage is None:
        return
    add_usage(outcome, draft.usage, prices)
    draft.usage = None  # so a draft is never counted twice
