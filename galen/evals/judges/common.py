"""What every LLM judge shares: reading a JSON object out of its reply.

Judge calls go through the eval call cache (`galen.evals.cache.cached_chat`): the key hashes
the judge's fingerprint, the messages and the decoding settings, so a rerun reads the same
verdicts instead of asking again.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def strip_fences(text: str) -> str:
    """Remove a leading ```json (or ```) and a trailing ```, as simple-evals' parse_json_to_dict.

    >>> strip_fences('```json\\n{"a": 1}\\n```')
    '{"a": 1}'
    """
    return _FENCE.sub("", text.strip())


def parse_json_object(text: str, lenient: bool = False) -> dict[str, Any] | None:
    """The JSON object in a judge reply, or None.

    Strict (the HealthBench reference): the whole reply, fences stripped, must be the object.
    Lenient (pairwise): otherwise the outermost `{...}` span in the reply is tried as well, for
    judges that add a sentence before or after the object.

    >>> parse_json_object('Verdict: {"winner": "1"} done', lenient=True)
    {'winner': '1'}
    >>> parse_json_object('Verdict: {"winner": "1"} done') is None
    True
    """
    candidates = [strip_fences(text)]
    if lenient and (span := _OBJECT.search(text)):
        candidates.append(span.group(0))
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None
