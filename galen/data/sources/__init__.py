"""One adapter per upstream format; `ADAPTERS` maps a recipe's `format` to it.

medqa, medmcqa, pubmedqa, medexpqa, afrimedqa, healthsearchqa, liveqa: the public sets of the
Reasoning-Medical / MeditronFO cards, in their upstream formats. jsonl, messages, sharegpt: generic
formats for anything else. synth: the items `galen data synth` made.
"""

from galen.data.sources import (
    afrimedqa,
    healthsearchqa,
    jsonl,
    liveqa,
    medexpqa,
    medmcqa,
    medqa,
    messages,
    pubmedqa,
    sharegpt,
    synth,
)
from galen.data.sources.base import Adapter, Origin, Skip, SourceFile, locate
from galen.errors import BadRequest

ADAPTERS: dict[str, Adapter] = {
    module.ADAPTER.name: module.ADAPTER
    for module in (
        medqa,
        medmcqa,
        pubmedqa,
        medexpqa,
        afrimedqa,
        healthsearchqa,
        liveqa,
        jsonl,
        messages,
        sharegpt,
        synth,
    )
}


def get_adapter(name: str) -> Adapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise BadRequest("format", f"unknown format {name!r}; known: {', '.join(ADAPTERS)}") from None


__all__ = ["ADAPTERS", "Adapter", "Origin", "Skip", "SourceFile", "get_adapter", "locate"]
