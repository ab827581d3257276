"""Answer extraction on hand-written model replies: the cascade order, the last answer winning,
letters outside the option set, and the article "A" that must never count as an answer."""

from __future__ import annotations

import pytest

from galen.evals.extract import Extraction, after_think, extract_choice, extract_label, extract_mmlu_pro

ABCD = "ABCD"
A_TO_J = "ABCDEFGHIJ"
PUBMEDQA = ("yes", "no", "maybe")


def choice(text: str, letters: str = ABCD) -> tuple[str | None, str]:
    found = extract_choice(text, letters)
    return found.answer, found.method


# (reply, expected answer, expected method)
CHOICE_CASES = [
    # 1) JSON field, as the Reasoning-Medical-27B card asks for
    ('{"answer": "C"}', "C", "json_field"),
    (
        "The crystals are needle-shaped and negatively birefringent, which points to gout.\n"
        '{"reasoning": "urate crystals", "answer": "B"}',
        "B",
        "json_field",
    ),
    ('```json\n{\n  "answer": "d"\n}\n```', "D", "json_field"),
    ("{'answer': 'A'}", "A", "json_field"),
    ('"answer":"(C)"', "C", "json_field"),
    ('{"answer": "B. Allopurinol"}', "B", "json_field"),
    ('{"Answer": "c"}', "C", "json_field"),
    (
        'First pass: {"answer": "A"}. Rechecking the renal function... final: {"answer": "D"}',
        "D",
        "json_field",
    ),
    ('{"answer": "B"} then, oddly, {"answer": "F"}', "B", "json_field"),  # F is no option: skipped
    ('{"answer": "E"}\nSo the answer is (B).', "B", "answer_is"),  # E falls through to step 2
    ('{"answer": "C"} ... the answer is A', "C", "json_field"),  # JSON beats later prose
    # 2) "answer is" / "Answer:" cues
    ("The answer is (B).", "B", "answer_is"),
    ("The answer is B", "B", "answer_is"),
    ("Answer: C", "C", "answer_is"),
    ("**Answer:** D", "D", "answer_is"),
    ("**Final Answer**: A", "A", "answer_is"),
    ("### Final answer: **(C)**", "C", "answer_is"),
    ("Therefore, the correct answer is option C: Metformin.", "C", "answer_is"),
    ("The correct answer is **B. Beta-blockers**, because they reduce mortality.", "B", "answer_is"),
    ("the answer is c.", "C", "answer_is"),
    ("the answer is (d)", "D", "answer_is"),
    ("Final answer:\n\nB", "B", "answer_is"),
    ("The answer is: `A`", "A", "answer_is"),
    ("Initially the answer is A seemed right, but on review the answer is D.", "D", "answer_is"),
    ("The answer is B, not A.", "B", "answer_is"),
    ("The answer is E.\nWithin the listed options, Answer: C", "C", "answer_is"),
    ("The answer is a rare variant of Wilson disease; see (B).", "B", "last_letter"),
    # 3) \boxed{}
    ("$\\boxed{C}$", "C", "boxed"),
    ("Therefore: $\\boxed{\\text{B}}$", "B", "boxed"),
    ("\\boxed{(D)}", "D", "boxed"),
    ("\\boxed{\\textbf{A}}", "A", "boxed"),
    ("We get \\boxed{B} at first, then correct to \\boxed{C}.", "C", "boxed"),
    ("\\boxed{A} ... no, \\boxed{G}", "A", "boxed"),  # G is no option
    ("\\boxed{x + 1}", None, "none"),
    # 4) last standalone letter, only when it looks like an option reference
    ("I would choose (B) over (C).\n\nC", "C", "last_letter"),
    ("Options considered:\nA. Metformin\nB. Insulin\n\nMy pick: B", "B", "last_letter"),
    ("I'll go with option C because it fits the presentation best.", "C", "last_letter"),
    ("Between B) and C), C) is better supported.", "C", "last_letter"),
    ("Most consistent with the history:\n- **D**\n", "D", "last_letter"),
    ("Best choice: [A]", "A", "last_letter"),
    ("It is D.", "D", "last_letter"),
    ("Going with B", "B", "last_letter"),
    # the article "A" and other capitals that are not answers
    ("A 45-year-old man presents with fever and a rash.", None, "none"),
    ("A patient with hepatitis B needs vitamin D supplementation and close follow-up", None, "none"),
    ("A 30-year-old woman with (B) and later A 2-cm mass", "B", "last_letter"),
    ("A chest X-ray shows a right lower lobe consolidation.", None, "none"),
    ("I think E is likely, and F)", None, "none"),
    # nothing, or only letters outside the option set
    ("", None, "none"),
    ("   \n", None, "none"),
    ("I cannot determine the answer without the lab values.", None, "none"),
    ("Answer: E\nOn reflection, Answer: E", None, "none"),
    ("Therefore the answer is E.", None, "none"),
]


@pytest.mark.parametrize(("text", "answer", "method"), CHOICE_CASES)
def test_extract_choice(text: str, answer: str | None, method: str) -> None:
    assert choice(text) == (answer, method)


def test_span_points_at_the_letter() -> None:
    text = 'Reasoning: renal clearance matters.\n{"answer": "C"}'
    found = extract_choice(text, ABCD)
    assert found == Extraction("C", "json_field", (text.rindex("C"), text.rindex("C") + 1))
    for text in ["The answer is (B).", "so \\boxed{D}", "pick (A) or rather C)"]:
        found = extract_choice(text, ABCD)
        assert found.span is not None
        assert text[found.span[0] : found.span[1]].upper() == found.answer


def test_nothing_has_no_span() -> None:
    assert extract_choice("no idea", ABCD) == Extraction(None, "none", None)


def test_letters_limit_every_step() -> None:
    assert choice("The answer is E.", "ABCDE") == ("E", "answer_is")
    assert choice("The answer is E.", "ABCD") == (None, "none")
    assert choice("The answer is (I).", A_TO_J) == ("I", "answer_is")
    assert choice("\\boxed{B}", "AC") == (None, "none")


def test_letters_may_be_given_lower_case() -> None:
    assert choice("Answer: C", ["a", "b", "c"]) == ("C", "answer_is")


def test_pronoun_i_is_not_option_i() -> None:
    assert choice("I think the findings favour sarcoidosis over lymphoma.", A_TO_J) == (None, "none")
    assert choice("So I pick option I.", A_TO_J) == ("I", "last_letter")


def test_only_text_after_the_last_think_counts() -> None:
    text = "<think>The answer is A</think>\nThe answer is C"
    assert extract_choice(text, ABCD) == Extraction("C", "answer_is", (45, 46))
    assert choice("<think>The answer is A</think>\nI cannot tell.") == (None, "none")
    assert choice('stray reasoning {"answer": "B"}</think>\n\\boxed{D}') == ("D", "boxed")


def test_after_think() -> None:
    assert after_think("a</think>b</think>c") == ("c", 18)
    assert after_think("plain") == ("plain", 0)


# (reply, expected label, expected method)
LABEL_CASES = [
    ('{"answer": "yes"}', "yes", "json_field"),
    ('{"reasoning": "No effect was seen in the trial.", "answer": "No"}', "no", "json_field"),
    ('{"answer": "maybe."}', "maybe", "json_field"),
    ("Answer: yes", "yes", "answer_is"),
    ("Final decision: **maybe**", "maybe", "answer_is"),
    ("The answer is: Yes.", "yes", "answer_is"),
    ("Answer: no, although maybe a larger trial would change that.", "no", "answer_is"),
    ("At first the answer is yes; on reflection the answer is no.", "no", "answer_is"),
    ("Answer: The trial showed a clear benefit, so yes.", "yes", "label"),
    ("The data were insufficient; I'd say maybe", "maybe", "label"),
    ("Yes, the cohort was large. However, no", "no", "label"),
    ("MAYBE", "maybe", "label"),
    ("nothing conclusive here; maybes and nos are not labels", None, "none"),
    ("", None, "none"),
]


@pytest.mark.parametrize(("text", "label", "method"), LABEL_CASES)
def test_extract_label(text: str, label: str | None, method: str) -> None:
    found = extract_label(text, PUBMEDQA)
    assert (found.answer, found.method) == (label, method)


def test_label_is_returned_as_given() -> None:
    found = extract_label("answer: YES", ["Yes", "No"])
    assert found.answer == "Yes"
    assert found.span == (8, 11)


def test_multi_word_labels_prefer_the_longest() -> None:
    labels = ["supported", "not supported", "not enough info"]
    assert extract_label("Final decision: not supported", labels).answer == "not supported"
    assert extract_label("Answer: Not Enough\nInfo", labels).answer == "not enough info"


def test_label_after_think() -> None:
    assert extract_label("<think>answer: yes</think>Answer: no", PUBMEDQA).answer == "no"


# (reply, expected answer) as lm-evaluation-harness's custom-extract filter reads them
MMLU_PRO_CASES = [
    ("Let's think step by step. ... The answer is (C).", "C"),
    ("the answer is J", "J"),
    ("so the answer is (C). On second thought the answer is (D).", "C"),  # first match, as lm-eval
    ("The Answer is (B)", None),  # case-sensitive: "Answer is" does not match, no "Answer:" either
    ("The answer is probably C.", None),
    ("The answer is K", None),
    ("Answer: C", "C"),  # the MMLU-Pro scorer's fallback
    ("Reasoning\nAnswer: B then Answer: C\nAnswer: D", "C"),  # last on the first line that has one
    ("answer:\nB", "B"),
    ("the answer is (A)\nAnswer: B", "A"),
    ("\\boxed{C}", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "answer"), MMLU_PRO_CASES)
def test_extract_mmlu_pro(text: str, answer: str | None) -> None:
    found = extract_mmlu_pro(text, A_TO_J)
    assert found.answer == answer
    assert found.method == ("answer_is" if answer else "none")


def test_mmlu_pro_letter_outside_options_is_wrong_not_skipped() -> None:
    # lm-eval takes the first match even when it is no option; that scores wrong, so None here.
    assert extract_mmlu_pro("the answer is (J). Answer: B", "ABCDEFGHI").answer is None
    assert extract_mmlu_pro("the answer is (C)", "ABCD") == Extraction("C", "answer_is", (15, 16))
