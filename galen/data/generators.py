"""The three synthetic components of the MeditronFO corpus: what the teacher is asked, how its
reply is read, and the check that accepts or rejects it.

Each generator is a prompt file under `data/prompts/` (a recipe may name its own; `<<passage>>`
is replaced by the chunk) and a reader of the reply: of its labelled fields (`Question:`,
`Answer:`...), or, from a teacher that can follow a JSON Schema, of the JSON object its schema
(`galen.data.synth_schemas`) forced, asked with the prompts under `data/prompts/json/`. Either
way the item then goes through the same check:

- `guideline_qa`: a question the chunk answers, the answer, and the supporting passage quoted.
  Grounding check: compared as words (case, spacing and punctuation ignored), the longest run of
  the quote found verbatim in the chunk must be at least `min_quote_words` long and at least 60%
  of the quote (a quote trimmed or with a word swapped at an end passes, a paraphrase does not);
  with `verify`, a second teacher call must also say the passage supports the answer
  (`prompts/verify.md`).
- `mcq`: an exam-style question with options A-D (or A-E), one gold letter and an explanation,
  made into the benchmarks' format (galen eval's "galen" prompt, `{"answer": "C"}` after the
  explanation). Check: four or five distinct non-empty options, a gold letter among them, an
  explanation, and on topic: the question, gold option and explanation share at least three
  words of five letters or more with the chunk.
- `vignette`: a clinical case, an open question and a reference answer; the user message is the
  case and the question, as a pairwise-judge vignette's `prompt` is. Check: a case of at least
  15 words, a question, a reference answer of at least 5 words, on topic as an MCQ must be.

A reply that fails is `Rejected` with its reason: `malformed` (a field missing, empty or the
prompt's `<placeholder>` copied back, an option repeated, a reply cut off), `ungrounded` (the
quote is not in the chunk; an MCQ or vignette off its topic) or `unsupported` (the second call
said no).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from galen.data.record import TaskKind
from galen.data.synth_schemas import REPLIES, ExamMCQ, GroundedQA, Vignette
from galen.files import sha256_bytes

PROMPTS = Path(__file__).resolve().parent / "prompts"
GENERATORS = ("guideline_qa", "mcq", "vignette")
LETTERS = "ABCDE"
MIN_VIGNETTE_WORDS = 15
MIN_REFERENCE_WORDS = 5
MIN_SHARED = 3  # long words an MCQ or vignette shares with its chunk
QUOTE_SUPPORT = 0.6  # share of a quote's words that must be one verbatim run of the passage


class Rejected(Exception):
    """A reply that is not a usable item. kind: malformed, ungrounded, unsupported, too_long."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason


@dataclass
class Draft:
    """A parsed, checked item: enough to make a Record.

    prompt: the user message (mcq: the question alone; its record is built in the exam format).
    reply: the assistant message. check: the verdict recorded on the record.
    """

    kind: TaskKind
    question: str
    reply: str
    prompt: str = ""
    options: dict[str, str] = field(default_factory=dict)
    gold: str | None = None
    quote: str | None = None
    check: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    """A prompt file: its text and sha256 (recorded on every item it made)."""

    path: Path
    text: str

    @classmethod
    def load(cls, path: Path) -> Template:
        return cls(path, path.read_text(encoding="utf-8"))

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.text.encode("utf-8"))

    def render(self, **values: str) -> str:
        text = self.text
        for key, value in values.items():
            text = text.replace(f"<<{key}>>", value)
        return text

    def messages(self, **values: str) -> list[dict[str, str]]:
        """The chat to send. Turns start at `<<user>>` / `<<assistant>>` lines, so an example
        exchange before the real request can show a small teacher the form; text before the
        first such line is a note for people and is not sent. Without them, the whole file is one
        user message. `<<name>>` is replaced by `values[name]` in every turn."""
        pieces = re.split(r"^<<(user|assistant)>>[ \t]*$", self.text, flags=re.M)
        if len(pieces) == 1:
            return [{"role": "user", "content": self.render(**values).strip()}]
        return [
            {"role": role, "content": Template(self.path, text.strip()).render(**values)}
            for role, text in zip(pieces[1::2], pieces[2::2], strict=True)
        ]


def words(text: str) -> list[str]:
    """Lower-case runs of letters or digits: how quotes and passages are compared."""
    return re.findall(r"[^\W_]+", text.lower())


def labelled(text: str, names: tuple[str, ...], letters: bool = False) -> dict[str, str]:
    """The value after each `Name:` line (first occurrence wins; markdown bold and bullets are
    ignored); with `letters`, option lines `A. ...`, `B) ...` too, keyed by their letter.

    >>> labelled("Question: Why?\\nAnswer: **Because.**", ("question", "answer"))
    {'question': 'Why?', 'answer': 'Because.'}
    """
    alternatives = "|".join(re.escape(n) for n in names)
    option = rf"|\(?([{LETTERS}])[.):]" if letters else ""
    pattern = re.compile(rf"^[ \t>*_#-]*(?:({alternatives})[ \t*_]*:{option})[ \t*_]*", re.I | re.M)
    found: dict[str, str] = {}
    matches = list(pattern.finditer(text))
    for k, match in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        key = (match.group(1) or "").lower() or match.group(2).upper()
        found.setdefault(key, text[match.end() : end].strip().strip("*_ ").strip())
    return found


def _need(found: dict[str, str], *names: str) -> None:
    """Every field is there, and none is the prompt's `<placeholder>` copied back."""
    copied = [n for n, v in found.items() if re.fullmatch(r"<[^<>]{1,60}>", v.strip())]
    if copied:
        raise Rejected("malformed", f"the prompt's placeholder was copied as {copied[0]!r}")
    missing = [n for n in names if not found.get(n)]
    if missing:
        raise Rejected(
            "malformed", f"no {', '.join(repr(m.capitalize() + ':') for m in missing)} in the reply"
        )


def shared_words(text: str, passage: str) -> int:
    """Distinct words of five letters or more that `text` shares with `passage`."""
    return len({w for w in words(text) if len(w) >= 5} & set(words(passage)))


def _on_topic(text: str, passage: str, least: int) -> int:
    """How an MCQ or vignette is tied to its chunk: it must share `least` long words with it (an
    item copied from elsewhere, or about nothing in the chunk, does not)."""
    shared = shared_words(text, passage)
    if shared < least:
        raise Rejected(
            "ungrounded", f"shares {shared} words of 5+ letters with the passage, fewer than {least}"
        )
    return shared


def grounded_qa(reply: str, passage: str, min_quote_words: int) -> Draft:
    """A guideline QA item read from labelled lines (`check_grounded` judges it)."""
    found = labelled(reply, ("question", "answer", "quote"))
    _need(found, "question", "answer", "quote")
    return check_grounded(found["question"], found["answer"], found["quote"], passage, min_quote_words)


def check_grounded(question: str, answer: str, quote: str, passage: str, min_quote_words: int) -> Draft:
    """Accepted only when the quote is copied from the passage: the longest run of the quote's
    words found verbatim in the passage (difflib's longest match, on words) must have at least
    `min_quote_words` words and make up at least QUOTE_SUPPORT of the quote."""
    quote = quote.strip().strip("\"'“”‘’").strip()
    said, source = words(quote), words(passage)
    run = SequenceMatcher(None, said, source, autojunk=False).find_longest_match(0, len(said), 0, len(source))
    if run.size < min_quote_words or run.size < QUOTE_SUPPORT * len(said):
        raise Rejected(
            "ungrounded",
            f"{run.size} of the quote's {len(said)} words are copied from the passage in one run "
            f"(needs {min_quote_words} and {QUOTE_SUPPORT:.0%})",
        )
    check = {"method": "quote", "passed": True, "quote_words": len(said), "copied_words": run.size}
    return Draft("open", question, answer, prompt=question, quote=quote, check=check)


def exam_mcq(reply: str, passage: str, least: int = MIN_SHARED) -> Draft:
    """An exam-style item read from labelled lines (`check_exam` judges it)."""
    found = labelled(reply, ("question", "answer", "explanation"), letters=True)
    _need(found, "question", "answer", "explanation")
    options = {letter: found[letter] for letter in LETTERS if found.get(letter)}
    return check_exam(found["question"], options, found["answer"], found["explanation"], passage, least)


def check_exam(
    question: str,
    options: dict[str, str],
    answer: str,
    explanation: str,
    passage: str,
    least: int = MIN_SHARED,
) -> Draft:
    """One gold letter among four or five distinct options, on the passage's topic."""
    if list(options) not in (list("ABCD"), list("ABCDE")) or not all(v.strip() for v in options.values()):
        raise Rejected("malformed", f"options {''.join(options) or 'none'}: expected A-D or A-E")
    if len({" ".join(words(v)) for v in options.values()}) < len(options):
        raise Rejected("malformed", "two options say the same")
    gold = re.match(rf"\(?([{LETTERS}])\b", answer.strip())
    if gold is None or gold.group(1) not in options:
        raise Rejected("malformed", f"the answer {answer[:20]!r} is not one of the option letters")
    about = " ".join([question, options[gold.group(1)], explanation])
    shared = _on_topic(about, passage, least)
    check = {"method": "format+topic", "passed": True, "options": len(options), "shared_words": shared}
    return Draft(
        "choice", question, explanation, prompt=question, options=options, gold=gold.group(1), check=check
    )


def clinical_vignette(reply: str, passage: str, least: int = MIN_SHARED) -> Draft:
    """An open-ended case read from labelled lines (`check_vignette` judges it)."""
    found = labelled(reply, ("vignette", "question", "reference answer"))
    _need(found, "vignette", "question", "reference answer")
    return check_vignette(found["vignette"], found["question"], found["reference answer"], passage, least)


def check_vignette(case: str, question: str, reference: str, passage: str, least: int = MIN_SHARED) -> Draft:
    """A case long enough to be one, a question, a reference answer, on the passage's topic."""
    if len(words(case)) < MIN_VIGNETTE_WORDS:
        raise Rejected("malformed", f"the vignette has fewer than {MIN_VIGNETTE_WORDS} words")
    if len(words(reference)) < MIN_REFERENCE_WORDS:
        raise Rejected("malformed", f"the reference answer has fewer than {MIN_REFERENCE_WORDS} words")
    shared = _on_topic(f"{case} {question} {reference}", passage, least)
    check = {"method": "format+topic", "passed": True, "shared_words": shared}
    return Draft("open", question, reference, prompt=f"{case}\n\n{question}", check=check)


def read_reply(generator: str, reply: str, passage: str, min_quote_words: int) -> Draft:
    """The item in a teacher's labelled-text reply, or `Rejected` with why not."""
    if generator == "guideline_qa":
        return grounded_qa(reply, passage, min_quote_words)
    if generator == "mcq":
        return exam_mcq(reply, passage)
    return clinical_vignette(reply, passage)


def read_json_reply(generator: str, reply: str, passage: str, min_quote_words: int) -> Draft:
    """The item in a reply constrained to the generator's schema (`galen.data.synth_schemas`):
    pydantic reads the shape (a reply cut off or not of that shape is `malformed`), then the same
    check as for a text reply judges the content."""
    try:
        item = REPLIES[generator].model_validate_json(reply)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "reply"
        raise Rejected("malformed", f"not the schema's JSON: {where}: {first['msg']}") from None
    if isinstance(item, GroundedQA):
        return check_grounded(item.question, item.answer, item.quote, passage, min_quote_words)
    if isinstance(item, ExamMCQ):
        options = item.options.model_dump()
        return check_exam(item.question, options, item.answer, item.explanation, passage)
    assert isinstance(item, Vignette)
    return check_vignette(item.vignette, item.question, item.reference_answer, passage)


def supported(reply: str) -> bool | None:
    """The verify call's yes / no (None: neither word leads the reply)."""
    first = words(reply)[:3]
    if "yes" in first:
        return True
    return False if "no" in first else None
