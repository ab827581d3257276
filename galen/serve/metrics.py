"""Prometheus metrics: requests, tokens, latency histograms and queue depth, per server."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_TOKEN_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("galen_requests", "HTTP requests", ["endpoint", "status"], registry=r)
        self.prompt_tokens = Counter("galen_prompt_tokens", "Prompt tokens processed", registry=r)
        self.completion_tokens = Counter("galen_completion_tokens", "Tokens generated", registry=r)
        self.latency = Histogram(
            "galen_request_seconds",
            "End-to-end request latency",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "galen_time_to_first_token_seconds", "Time to first token", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.itl = Histogram(
            "galen_inter_token_seconds", "Time between streamed chunks", buckets=_TOKEN_BUCKETS, registry=r
        )
        self.queue_depth = Gauge("galen_queue_depth", "Requests waiting for a slot", registry=r)
        self.active = Gauge("galen_active_requests", "Requests generating now", registry=r)

    def count_tokens(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens.inc(prompt_tokens)
        self.completion_tokens.inc(completion_tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)
