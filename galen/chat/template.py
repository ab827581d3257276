"""Messages -> prompt text with the model's own Jinja chat template.

The environment mirrors what Hugging Face templates expect (sandboxed Jinja with
`trim_blocks`/`lstrip_blocks`, `raise_exception`, `tojson` without ASCII escaping,
`strftime_now`), so a template renders the same here as in transformers or vLLM.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from galen.errors import BadRequest


class TemplateRaised(Exception):
    """A template called raise_exception(): the messages break the model's conventions."""


def _raise_exception(message: str) -> None:
    raise TemplateRaised(message)


def _tojson(value: Any, indent: int | None = None, separators: Any = None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _items(value: Any) -> Any:
    """Jinja's `items`, except that text has none: arguments that are not JSON (a malformed call
    sent back in history as the model wrote it) then render as a call without parameters, rather
    than failing the whole prompt."""
    return [] if isinstance(value, str) else jinja2.filters.do_items(value)


@lru_cache(maxsize=16)
def _compile(source: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = _tojson
    env.filters["items"] = _items
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(source)


class ChatTemplate:
    """A compiled chat template plus the special tokens it may reference."""

    def __init__(self, source: str, bos_token: str | None = None, eos_token: str | None = None) -> None:
        try:
            self._template = _compile(source)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"chat template does not compile: {exc}") from exc
        self.source = source
        self.bos_token = bos_token or ""
        self.eos_token = eos_token or ""

    def render(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        add_generation_prompt: bool = True,
        **kwargs: Any,
    ) -> str:
        """The prompt text; template errors become a 400 naming `messages`."""
        try:
            return self._template.render(
                messages=messages,
                tools=tools or None,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                **kwargs,
            )
        except TemplateRaised as exc:
            raise BadRequest("messages", f"the model's chat template rejects these messages: {exc}") from exc
        except (jinja2.TemplateError, TypeError, AttributeError) as exc:
            raise BadRequest("messages", f"the chat template cannot render these messages: {exc}") from exc
