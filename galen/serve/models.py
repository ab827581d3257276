"""GET /v1/models, GET /health, GET /metrics and POST /tokenize (as vLLM serves it)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from galen import RESEARCH_NOTICE
from galen.engine.base import EngineInfo
from galen.engine.chat import ChatRequest
from galen.models.fingerprint import fingerprint
from galen.serve.protocol import TokenizeRequest
from galen.serve.state import ServerState

router = APIRouter()


def _card(state: ServerState, model_id: str, weights: dict[str, Any]) -> dict[str, Any]:
    chat, info = state.chat, state.chat.engine.info
    profile = chat.profile
    return {
        "id": model_id,
        "object": "model",
        "created": int(state.started),
        "owned_by": "galen",
        "max_model_len": info.context_length,
        "capabilities": {
            "thinking": profile.supports_thinking,
            "thinking_default": profile.thinks_by_default,
            # Reasoning tokens a request without `thinking_budget` gets (null: no limit).
            "thinking_budget": chat.source.thinking_budget,
            "tools": profile.supports_tools,
            "tool_format": profile.tool_format,
            "vision": chat.source.vision,
            "media": list(chat.media_kinds),  # what a chat message may carry besides text
            "context_length": info.context_length,
            **_features(info),
        },
        "family": profile.family,
        "engine": info.name,
        "fingerprint": weights,  # galen.models.fingerprint: weights and template hashes, family
        "notice": RESEARCH_NOTICE,
    }


# The APIs every galen server speaks; each new API adds its name here.
APIS = ["chat.completions", "completions", "responses", "messages"]


def _features(info: EngineInfo) -> dict[str, Any]:
    """What a request may ask of this engine beyond plain text (a field it cannot do is a 400)."""
    return {
        "structured_outputs": ["json_object", "json_schema"] if info.supports_json_schema else [],
        "logprobs": info.supports_logprobs,
        "apis": list(APIS),
    }


@router.get("/v1/models")
async def list_models(request: Request) -> dict[str, Any]:
    state: ServerState = request.app.state.galen
    weights = await asyncio.to_thread(fingerprint, state.chat.source)  # hashed once, then cached
    return {"object": "list", "data": [_card(state, m, weights) for m in state.model_ids]}


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, request: Request) -> dict[str, Any]:
    state: ServerState = request.app.state.galen
    weights = await asyncio.to_thread(fingerprint, state.chat.source)
    return _card(state, state.check_model(model_id), weights)


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """200 while serving; 503 once a shutdown has begun, so load balancers stop sending work."""
    state: ServerState = request.app.state.galen
    limiter = state.limiter
    body = {"model": state.model_ids[0], "active": limiter.active, "queued": limiter.waiting}
    if limiter.closing:
        return JSONResponse({"status": "draining", **body}, 503)
    return JSONResponse({"status": "ok", **body})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state: ServerState = request.app.state.galen
    state.metrics.queue_depth.set(state.limiter.waiting)
    state.metrics.active.set(state.limiter.active)
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")


@router.post("/tokenize")
async def tokenize(body: TokenizeRequest, request: Request) -> dict[str, Any]:
    """Token ids of a prompt, or of the chat prompt that `messages` would render to. Admitted
    and run in a slot like a generation: rendering and tokenising a large body is work too."""
    state: ServerState = request.app.state.galen
    state.check_model(body.model)
    async with state.limiter.admit(1, param=None) as admission:
        tokens = await admission.call(_tokens, state, body)
    return {"tokens": tokens, "count": len(tokens), "max_model_len": state.chat.engine.info.context_length}


def _tokens(state: ServerState, body: TokenizeRequest) -> list[int]:
    if body.messages is not None:
        return state.chat.render(ChatRequest(messages=body.messages)).ids
    return state.chat.engine.tokenize(body.prompt or "")
