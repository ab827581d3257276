"""What a running server holds: its settings, the engine, the chat layer, limits and metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from galen.engine.chat import ChatEngine
from galen.engine.sampling import SamplingParams, get_preset
from galen.errors import NotFound
from galen.serve.limits import Limiter
from galen.serve.metrics import Metrics
from galen.serve.protocol import SamplingFields


@dataclass
class ServeSettings:
    """`galen serve` flags that shape the API (engine flags live in EngineOptions)."""

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    default_preset: str | None = None  # None: the model profile's choice, by thinking mode
    max_queue: int = 64  # choices waiting for a slot before 429
    max_active: int | None = None  # None: the engine's own concurrency
    max_choices: int = 64  # prompts x n in one request
    max_body_bytes: int = 32 * 2**20  # room for a few base64 images
    shutdown_timeout: float = 20.0  # seconds in-flight work may run on after SIGTERM
    aliases: tuple[str, ...] = ()
    log_content: bool = False
    ui: bool = True  # the web playground at / (galen/serve/playground.py)


@dataclass
class ServerState:
    chat: ChatEngine
    settings: ServeSettings
    metrics: Metrics = field(default_factory=Metrics)
    started: float = field(default_factory=time.time)
    limiter: Limiter = field(init=False)

    def __post_init__(self) -> None:
        active = self.settings.max_active or self.chat.engine.info.max_concurrency
        self.limiter = Limiter(active, self.settings.max_queue, self.settings.max_choices)

    @property
    def model_ids(self) -> list[str]:
        return [self.chat.engine.info.model_id, *self.settings.aliases]

    def check_model(self, requested: str | None) -> str:
        """The served id for `requested`; unknown names are a 404, as with OpenAI and vLLM."""
        if requested in (None, "") or requested in self.model_ids:
            return requested or self.model_ids[0]
        raise NotFound(
            f"model {requested!r} is not served here; available: {', '.join(self.model_ids)}",
            param="model",
            code="model_not_found",
        )

    def sampling(self, body: SamplingFields, thinking: bool | None) -> SamplingParams:
        """Preset (request, else server default, else the profile's) overridden field by field.

        `thinking=None` is a raw text completion: no chat mode, so no profile preset either.
        """
        name = body.preset or self.settings.default_preset
        if name:
            base = get_preset(name)
        else:
            base = SamplingParams() if thinking is None else self.chat.default_sampling(thinking)
        stop = body.stop if isinstance(body.stop, list) else None
        return base.updated(
            temperature=body.temperature,
            top_p=body.top_p,
            top_k=body.top_k,
            min_p=body.min_p,
            presence_penalty=body.presence_penalty,
            frequency_penalty=body.frequency_penalty,
            repetition_penalty=body.repetition_penalty,
            seed=body.seed,
            stop=tuple(stop) if stop else None,
            max_tokens=body.max_completion_tokens or body.max_tokens,
        )
