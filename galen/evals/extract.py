"""Read the answer out of a model's reply: an option letter, a label, or MMLU-Pro's letter.

The caller splits reasoning off first, so these functions see the answer text only; if a stray
`</think>` is still there, only the text after the last one is read. Spans index into the text
as given (not the trimmed tail), so `text[span[0]:span[1]]` is the letter or label found.

`extract_choice` tries, in order, and keeps only answers in `letters` at every step (a letter
outside the option set is skipped, and the next candidate or step is tried):

1. `json_field`: a JSON field `"answer": "C"` (also `'answer': 'c'`, `"answer":"(C)"`,
   `"answer": "C. Metformin"`), anywhere in the text; the last one wins. This is the format
   the Reasoning-Medical-27B card asks for.
2. `answer_is`: `answer is (C)`, `Answer: C`, `**Final answer:** C`, `the correct answer is
   option C`; the last one wins. A lower-case letter counts only in brackets or before
   `.`, `)`, `:`, `,` or the end of a line, so "the answer is a rare variant" is no answer.
3. `boxed`: `\\boxed{C}`, `\\boxed{\\text{C}}`, `\\boxed{(C)}`; the last one wins.
4. `last_letter`: the last upper-case letter that looks like an option reference (see
   `_looks_like_option`): `(B)`, `[B]`, `B)`, `B.`, `B:`, `option B`, a letter alone on its
   line, or a letter ending the text. A bare capital followed by a word, as the article in
   "A 45-year-old man", never counts. Medical text is full of "hepatitis B." and "vitamin D."
   that pass this rule, so step 4 is a last resort for replies that ignore the format.

Nothing found gives `Extraction(None, "none", None)`: scored wrong, never a random guess.

>>> extract_choice('Reasoning done.\\n{"answer": "C"}', "ABCD")
Extraction(answer='C', method='json_field', span=(28, 29))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

Method = Literal["json_field", "answer_is", "boxed", "last_letter", "label", "none"]

THINK_END = "</think>"


@dataclass(frozen=True)
class Extraction:
    """What was read from a reply, how, and where.

    answer: the letter (upper-case) or label (as given in `labels`); None when nothing parsed.
    method: the cascade step that found it ("none" when nothing did).
    span: (start, end) of the answer in the text as given, or None.
    """

    answer: str | None
    method: Method
    span: tuple[int, int] | None


NOTHING = Extraction(answer=None, method="none", span=None)

# A letter candidate: (letter as written, start, end) in the text that was searched.
Candidate = tuple[str, int, int]

_JSON_FIELD = re.compile(
    r"""["'](?:final_)?answer["']\s*:\s*["']\s*[(\[]?\s*([A-Za-z])\s*[)\]]?\s*(?:["']|[.):]\s*[^"'\n]*["'])""",
    re.IGNORECASE,
)
_ANSWER_IS = re.compile(
    r"\banswer(?:\s*(?:\*\*|__))?(?:\s+is\b(?:\s*:)?|\s*:)"
    r"[\s*_`(\[]*(?:(?:option|choice)\s*[\s*_`(\[]*)?"
    r"(?<![A-Za-z0-9])([A-Za-z])(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_BOXED = re.compile(r"\\boxed\s*\{\s*(?:\\[a-zA-Z]+\s*\{\s*)?[(\[]?\s*([A-Za-z])\s*[)\]]?\s*(?=\}|[.:])")
_CAPITAL = re.compile(r"(?<![A-Za-z0-9])([A-Z])(?![A-Za-z0-9])")
_MARKUP = "*_`"
_QUOTES = "\"'"
_OPTION_WORD = re.compile(r"\b(?:option|choice)\s*$", re.IGNORECASE)

# MMLU-Pro, as lm-evaluation-harness scores it (see extract_mmlu_pro).
_MMLU_PRO_ANSWER_IS = re.compile(r"answer is \(?([ABCDEFGHIJ])\)?")
_MMLU_PRO_ANSWER_COLON = re.compile(r".*[aA]nswer:\s*([A-J])")


def after_think(text: str) -> tuple[str, int]:
    """The text after the last `</think>`, and where it starts in `text`.

    >>> after_think("<think>maybe B</think> Answer: C")
    (' Answer: C', 22)
    >>> after_think("Answer: C")
    ('Answer: C', 0)
    """
    cut = text.rfind(THINK_END)
    offset = 0 if cut < 0 else cut + len(THINK_END)
    return text[offset:], offset


def _last(candidates: Iterator[Candidate], allowed: set[str]) -> Candidate | None:
    """The last candidate whose letter is one of the options."""
    found = None
    for candidate in candidates:
        if candidate[0].upper() in allowed:
            found = candidate
    return found


def _groups(pattern: re.Pattern[str], text: str) -> Iterator[Candidate]:
    for m in pattern.finditer(text):
        yield m.group(1), m.start(1), m.end(1)


def _bracketed_or_closed(text: str, start: int, end: int) -> bool:
    """A letter in brackets, or followed by `.`, `)`, `:`, `,` or the end of its line."""
    before = text[:start].rstrip(_MARKUP + " ")
    after = text[end:].lstrip(_MARKUP)
    if before.endswith(("(", "[")) or after[:1] in (")", "]"):
        return True
    return after[:1] in (".", ":", ",") or after.split("\n", 1)[0].strip() == ""


def _answer_is(text: str) -> Iterator[Candidate]:
    for letter, start, end in _groups(_ANSWER_IS, text):
        if letter.isupper() or _bracketed_or_closed(text, start, end):
            yield letter, start, end


def _looks_like_option(text: str, start: int, end: int) -> bool:
    """Whether the capital at text[start:end] reads as an option reference, not a word.

    Yes: "(B)", "[B]", "B)", "B]", "B:", "B." (not "B.C"), "option B", "choice B", a letter
    alone on its line (markdown `*`, `_`, backticks, `-` bullets and a final `.` allowed),
    or the last thing in the text. No: "A 45-year-old man", "Vitamin D deficiency".
    """
    after = text[end:].lstrip(_MARKUP + _QUOTES)
    if after[:1] in (")", "]", ":"):
        return True
    if after[:1] == "." and not after[1:2].isalpha():
        return True
    if _OPTION_WORD.search(text[max(0, start - 24) : start].rstrip(_MARKUP + _QUOTES + " ([")):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    prefix = text[line_start:start].strip(_MARKUP + "-> \t")
    suffix = text[end:line_end].strip(_MARKUP + ".! \t")
    if not prefix and not suffix:
        return True
    return not text[end:].strip(_MARKUP + ".!? \t\n")


def _last_letter(text: str) -> Iterator[Candidate]:
    for letter, start, end in _groups(_CAPITAL, text):
        if _looks_like_option(text, start, end):
            yield letter, start, end


_CHOICE_STEPS: tuple[tuple[Method, Callable[[str], Iterator[Candidate]]], ...] = (
    ("json_field", lambda text: _groups(_JSON_FIELD, text)),
    ("answer_is", _answer_is),
    ("boxed", lambda text: _groups(_BOXED, text)),
    ("last_letter", _last_letter),
)


def extract_choice(text: str, letters: Sequence[str]) -> Extraction:
    """The option letter a reply chose, by the cascade in the module docstring.

    >>> extract_choice("The answer is (B).", "ABCD")
    Extraction(answer='B', method='answer_is', span=(15, 16))
    >>> extract_choice("A 45-year-old man most likely has gout.", "ABCD")
    Extraction(answer=None, method='none', span=None)
    >>> extract_choice("The answer is E, so \\\\boxed{D}", "ABCD").method
    'boxed'
    """
    tail, offset = after_think(text)
    allowed = {letter.upper() for letter in letters}
    for method, candidates in _CHOICE_STEPS:
        found = _last(candidates(tail), allowed)
        if found:
            letter, start, end = found
            return Extraction(letter.upper(), method, (start + offset, end + offset))
    return NOTHING


def _label_pattern(labels: Sequence[str]) -> str:
    """Labels as one whole-word alternation, longest first ("not sure" before "not")."""
    words = sorted(labels, key=len, reverse=True)
    alternation = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
    return rf"(?<!\w)({alternation})(?!\w)"


def _label_steps(labels: Sequence[str]) -> tuple[tuple[Method, re.Pattern[str]], ...]:
    label = _label_pattern(labels)
    json_field = rf"""["'](?:final_)?answer["']\s*:\s*["']\s*{label}\s*[.!]?\s*["']"""
    cue = (
        r"\b(?:answer|final\s+decision|decision)(?:\s*(?:\*\*|__))?(?:\s+is\b(?:\s*:)?|\s*:)"
        rf"[\s*_`\"'(\[]*{label}"
    )
    return (
        ("json_field", re.compile(json_field, re.IGNORECASE)),
        ("answer_is", re.compile(cue, re.IGNORECASE)),
    )


_LAST_CUE = re.compile(r"\b(?:answer|final\s+decision|decision)\b", re.IGNORECASE)


def _after_last_cue(text: str) -> int:
    """Where the text after the last "answer"/"decision" cue starts (0 without a cue)."""
    cues = list(_LAST_CUE.finditer(text))
    return cues[-1].end() if cues else 0


def _canonical(found: str, labels: Sequence[str]) -> str:
    folded = " ".join(found.split()).casefold()
    return next(label for label in labels if " ".join(label.split()).casefold() == folded)


def extract_label(text: str, labels: Sequence[str]) -> Extraction:
    """The label a reply chose (e.g. PubMedQA's yes / no / maybe), returned as given in `labels`.

    In order, case-insensitive, whole words only: a JSON field `"answer": "yes"` (last wins);
    a label right after an "answer" / "final decision" cue (`Final decision: **maybe**`, last
    wins); else the last label in the text after the last cue, or in the whole text when no
    label follows the cue.

    >>> extract_label('{"answer": "Yes"}', ["yes", "no", "maybe"])
    Extraction(answer='yes', method='json_field', span=(12, 15))
    >>> extract_label("Answer: no, although maybe a larger trial would help.", ["yes", "no", "maybe"]).answer
    'no'
    >>> extract_label("Data were insufficient; I'd say maybe.", ["yes", "no", "maybe"]).method
    'label'
    """
    if not labels:
        return NOTHING
    tail, offset = after_think(text)
    for method, pattern in _label_steps(labels):
        matches = list(pattern.finditer(tail))
        if matches:
            m = matches[-1]
            return Extraction(
                _canonical(m.group(1), labels), method, (m.start(1) + offset, m.end(1) + offset)
            )
    label = re.compile(_label_pattern(labels), re.IGNORECASE)
    cue_end = _after_last_cue(tail)
    matches = list(label.finditer(tail, cue_end)) or list(label.finditer(tail))
    if not matches:
        return NOTHING
    m = matches[-1]
    return Extraction(_canonical(m.group(1), labels), "label", (m.start(1) + offset, m.end(1) + offset))


def extract_mmlu_pro(text: str, letters: Sequence[str]) -> Extraction:
    """MMLU-Pro's letter, read exactly as lm-evaluation-harness's "custom-extract" filter does.

    lm-eval's filter (`lm_eval/tasks/mmlu_pro/_default_template_yaml`,
    https://github.com/EleutherAI/lm-evaluation-harness/blob/main/lm_eval/tasks/mmlu_pro/_default_template_yaml)
    is `regex` with `answer is \\(?([ABCDEFGHIJ])\\)?` then `take_first`: case-sensitive, and the
    FIRST match wins (RegexFilter returns `findall(...)[0]`,
    https://github.com/EleutherAI/lm-evaluation-harness/blob/main/lm_eval/filters/extraction.py).
    The fallback `.*[aA]nswer:\\s*([A-J])` is commented out in that YAML; it is the official
    MMLU-Pro scorer's `extract_again` (`re.search`, no DOTALL: the last "Answer:" on the first
    line that has one), https://github.com/TIGER-AI-Lab/MMLU-Pro/blob/main/compute_accuracy.py,
    tried here only when the first regex finds nothing. The official scorer's last resort
    (any last standalone letter) is left out: nothing found is None, scored wrong.

    A matched letter outside `letters` gives None (lm-eval would score it wrong too) without
    trying the fallback, so scores equal lm-eval's whenever its regex matches.

    >>> extract_mmlu_pro("so the answer is (C). On reflection the answer is (D).", "ABCDEFGHIJ")
    Extraction(answer='C', method='answer_is', span=(18, 19))
    >>> extract_mmlu_pro("The answer is probably C.", "ABCDEFGHIJ").answer is None
    True
    """
    tail, offset = after_think(text)
    m = _MMLU_PRO_ANSWER_IS.search(tail) or _MMLU_PRO_ANSWER_COLON.search(tail)
    if m is None or m.group(1) not in {letter.upper() for letter in letters}:
        return NOTHING
    return Extraction(m.group(1), "answer_is", (m.start(1) + offset, m.end(1) + offset))


def extract_answer(text: str, kind: str, choices: Sequence[str]) -> Extraction:
    """The default reading of a reply: a label for "label" items, else an option letter.

    >>> extract_answer("Final decision: maybe.", "label", ("yes", "no", "maybe")).answer
    'maybe'
    """
    return extract_label(text, choices) if kind == "label" else extract_choice(text, choices)
