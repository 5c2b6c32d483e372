"""In-process metrics: Prometheus counters and the model latency window for stats.

Everything that must survive a restart is counted from the store instead; these are the live
gauges of one instance.
"""

from __future__ import annotations

from collections import deque

from prometheus_client import CollectorRegistry, Counter, Histogram

from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.service.clock import now

_LATENCY_WINDOW = 1000


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Metrics:
    """A registry per app instance (no import-time globals)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "talkme_webhooks", "Webhook calls by outcome", ["outcome"], registry=self.registry
        )
        self.ack_seconds = Histogram(
            "talkme_webhook_ack_seconds",
            "Time from receiving a webhook to acknowledging it",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.turns = Counter(
            "talkme_turns", "Turns by intent", ["intent", "answerer"], registry=self.registry
        )
        self.handoffs = Counter(
            "talkme_handoffs", "Handoffs by reason", ["reason"], registry=self.registry
        )
        self.turns_failed = Counter(
            "talkme_turns_failed",
            "Turns that ran out of attempts and were handed to a person, by error type",
            ["error"],
            registry=self.registry,
        )
        self.tokens = Counter("talkme_llm_tokens", "Model tokens", ["kind"], registry=self.registry)
        self._model_latency: deque[float] = deque(maxlen=_LATENCY_WINDOW)
        self.last_llm_outage: float | None = None
        self.llm_outages = 0

    async def observe_turn(self, outcome: TurnOutcome) -> None:
        """Count a finished turn."""
        self.turns.labels(
            intent=str(outcome.meta.get("intent", "none")),
            answerer=str(outcome.meta.get("answerer", "none")),
        ).inc()
        for event in outcome.events:
            if event.kind == EventKind.HANDOFF:
                self.handoffs.labels(reason=str(event.data.get("reason", "unknown"))).inc()
            elif event.kind == EventKind.TURN_FAILED:
                self.turns_failed.labels(error=str(event.data.get("error", "unknown"))).inc()
            elif event.kind == EventKind.LLM_OUTAGE:
                self.llm_outages += 1
                self.last_llm_outage = now()
        if outcome.prompt_tokens or outcome.completion_tokens:
            self.tokens.labels(kind="prompt").inc(outcome.prompt_tokens)
            self.tokens.labels(kind="completion").inc(outcome.completion_tokens)
        if outcome.model_latency_ms is not None:
            self._model_latency.append(outcome.model_latency_ms)

    def model_latency(self) -> dict[str, float | None]:
        """p50 and p95 of model time per turn over the recent window, in milliseconds."""
        values = list(self._model_latency)
        return {
            "p50_ms": _percentile(values, 0.50),
            "p95_ms": _percentile(values, 0.95),
            "turns": float(len(values)),
        }
