"""How a request's sampling values are resolved: preset, server default, profile, overrides."""

from __future__ import annotations

import pytest

from galen.engine.chat import ChatEngine
from galen.engine.sampling import PRESETS
from galen.errors import BadRequest, NotFound
from galen.models.source import resolve
from galen.serve.protocol import ChatCompletionRequest
from galen.serve.state import ServerState, ServeSettings


@pytest.fixture(scope="module")
def chat(smollm2_engine):
    return ChatEngine(smollm2_engine, resolve("smollm2", chat_template="chatml_think"))


def _body(**fields) -> ChatCompletionRequest:
    return ChatCompletionRequest(messages=[{"role": "user", "content": "q"}], **fields)


def test_profile_picks_the_preset_by_thinking_mode(chat):
    state = ServerState(chat, ServeSettings())
    assert state.sampling(_body(), thinking=True) == PRESETS["thinking-general"]
    assert state.sampling(_body(), thinking=False) == PRESETS["instruct"]


def test_server_default_preset_then_request_preset_then_fields(chat):
    state = ServerState(chat, ServeSettings(default_preset="thinking-precise"))
    assert state.sampling(_body(), thinking=True).temperature == 0.6
    assert state.sampling(_body(preset="instruct"), thinking=True).presence_penalty == 1.5
    tuned = state.sampling(_body(preset="instruct", temperature=0.1, top_k=5, stop="END"), thinking=True)
    assert (tuned.temperature, tuned.top_k, tuned.top_p, tuned.stop) == (0.1, 5, 0.8, ("END",))
    with pytest.raises(BadRequest):
        state.sampling(_body(preset="nope"), thinking=True)


def test_max_completion_tokens_wins_over_max_tokens(chat):
    state = ServerState(chat, ServeSettings())
    assert state.sampling(_body(max_tokens=5, max_completion_tokens=9), thinking=False).max_tokens == 9


def test_model_names_and_aliases(chat):
    state = ServerState(chat, ServeSettings(aliases=("EpistemeAI/Reasoning-Medical-27B",)))
    assert state.check_model(None) == chat.engine.info.model_id
    assert state.check_model("EpistemeAI/Reasoning-Medical-27B") == "EpistemeAI/Reasoning-Medical-27B"
    with pytest.raises(NotFound):
        state.check_model("gpt-4o")


def test_raw_completions_use_neutral_sampling_unless_a_preset_is_named(chat):
    state = ServerState(chat, ServeSettings())
    assert state.sampling(_body(), thinking=None).presence_penalty == 0.0
    assert state.sampling(_body(preset="instruct"), thinking=None).presence_penalty == 1.5
