"""MMLU-ProX biology: MMLU-Pro translated into many languages, prompted 5-shot CoT in the same
language, with the answer cue ("the answer is (X)") translated too.

The hub repo (li-lab/MMLU-ProX) has one folder per language, `<lang>/test-*.parquet` and
`<lang>/validation-*.parquet`; a row is MMLU-Pro's with the options spread over columns:

    {"question_id": 2847, "question": "<in the folder's language>",
     "option_0": "...", ..., "option_9": "...",   # None where a question has fewer options
     "answer": "D", "answer_index": 3,
     "cot_content": "A: Denken wir Schritt für Schritt nach. ... Die Antwort ist (D).",
     "category": "biology", "src": "ori_mmlu-college_biology"}

Rows with an `options` list (MMLU-Pro's shape) are read too, and a single file may carry a
`language` column instead of living in a `<lang>/` folder.

The per-language words below (question/options labels, answer lead, description and answer cue)
are lm-evaluation-harness's, from `lm_eval/tasks/mmlu_prox/lang_libs.py` (LANG_LIBS and
LANG_SUBJECTS), https://github.com/EleutherAI/lm-evaluation-harness/tree/main/lm_eval/tasks/mmlu_prox;
its per-language `custom-extract` regexes (`<lang>/_<lang>_template_yaml`) are the cue with the
letter as `\\(?([ABCDEFGHIJ])\\)?`, as `answer_pattern` builds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from galen.errors import BadRequest
from galen.evals.extract import NOTHING, Extraction
from galen.evals.loading import read_records, resolve_data, take
from galen.evals.task import Sample, Task, task
from galen.evals.tasks.mmlu_pro import NUM_FEWSHOT, TEST_FILES, CotWords, make_prompt, split_files, to_sample

VERSION = "1"
HUB_ID = "li-lab/MMLU-ProX"
REVISION = None  # no verified commit yet: "hub" asks for hf://li-lab/MMLU-ProX@<commit> or a local path
CATEGORY = "biology"


# lm-eval's LANG_LIBS, in its order: question label, options label, answer lead, description (with
# {subject} and {ans_suffix}), the lead the dataset's cot_content starts with, the answer cue.
LANG_LIBS: dict[str, tuple[str, str, str, str, str, str]] = {
    "en": (
        "Question:",
        "Options:",
        "Answer: Let's think step by step.",
        "The following are multiple choice questions (with answers) about {subject}. Think step by step "
        'and then finish your answer with "{ans_suffix}" where X is the correct letter choice.',
        "A: Let's think step by step.",
        "the answer is ({})",
    ),
    "de": (
        "Frage:",
        "Optionen:",
        "Antwort: Denken wir Schritt für Schritt nach.",
        "Im Folgenden sind Multiple-Choice-Fragen (mit Antworten) zu {subject}. Denken Sie Schritt für "
        'Schritt nach und beenden Sie Ihre Antwort mit "{ans_suffix}", wobei X der richtige Buchstabe ist.',
        "A: Denken wir Schritt für Schritt nach.",
        "Die Antwort ist ({})",
    ),
    "es": (
        "Pregunta:",
        "Opciones:",
        "Respuesta: Pensemos paso a paso.",
        "Las siguientes son preguntas de opción múltiple (con respuestas) sobre {subject}. Piense paso a "
        'paso y luego termine su respuesta con "{ans_suffix}" donde X es la letra de la opción correcta.',
        "A: Pensemos paso a paso.",
        "La respuesta es ({})",
    ),
    "fr": (
        "Question :",
        "Options :",
        "Réponse : Réfléchissons étape par étape.",
        "Voici des questions à choix multiples (avec réponses) sur {subject}. Réfléchissez étape par "
        'étape, puis terminez votre réponse par "{ans_suffix}" où X est la lettre correspondant au bon '
        "choix.",
        "A: Réfléchissons étape par étape.",
        "La réponse est ({})",
    ),
    "pt": (
        "Pergunta:",
        "Opções:",
        "Resposta: Vamos pensar passo a passo.",
        "A seguir estão perguntas de múltipla escolha (com respostas) sobre {subject}. Pense passo a "
        'passo e termine sua resposta com "{ans_suffix}" onde X é a letra da opção correta.',
        "A: Vamos pensar passo a passo.",
        "A resposta é ({})",
    ),
    "ja": (
        "質問：",
        "選択肢：",
        "回答：一歩一歩考えていきましょう。",
        "以下は{subject}に関する選択問題（解答付き）です。段階的に考え、最後に「{ans_suffix}」と"
        "回答を締めくくってください。Xは正解の選択肢を示す文字です。",
        "A: 一歩一歩考えていきましょう。",
        "答えは ({}) です",
    ),
    "zh": (
        "问题：",
        "选项：",
        "答案：让我们一步一步地思考。",
        '以下是关于{subject}的选择题（带有答案）。请逐步思考，然后以"{ans_suffix}"结束您的回答，'
        "其中X是正确的选项字母。",
        "A: 让我们一步一步地思考。",
        "答案是 ({})",
    ),
    "ko": (
        "질문：",
        "선택 사항：",
        "답변: 한 단계씩 생각해 봅시다.",
        '다음은 {subject}에 관한 객관식 문제(정답 포함)입니다. 단계적으로 생각한 다음 "{ans_suffix}"로 '
        "답변을 마무리하세요. 여기서 X는 올바른 선택지 문자입니다.",
        "A: 한 단계씩 생각해 봅시다.",
        "답은 ({})입니다",
    ),
    "sw": (
        "Swali:",
        "Chaguo:",
        "Jibu: Hebu tufikiria hatua kwa hatua.",
        "Yafuatayo ni maswali ya chaguo-nyingi (yenye majibu) kuhusu {subject}. Fikiria hatua kwa hatua "
        'kisha malizia jibu lako kwa "{ans_suffix}" ambapo X ni herufi ya chaguo sahihi.',
        "A: Hebu tufikiria hatua kwa hatua.",
        "Jibu ni ({})",
    ),
}
# lm-eval's LANG_SUBJECTS[language]["biology"].
BIOLOGY = {
    "en": "biology",
    "de": "Biologie",
    "es": "biología",
    "fr": "biologie",
    "pt": "biologia",
    "ja": "生物学",
    "zh": "生物学",
    "ko": "생물학",
    "sw": "biolojia",
}
LANGUAGES = tuple(LANG_LIBS)


def words(language: str) -> CotWords:
    question, options, answer_lead, _, cot_lead, _ = LANG_LIBS[language]
    return CotWords(question, options, answer_lead, cot_lead)


def description(language: str) -> str:
    """The description line of lm-eval's mmlu_prox_<language>_biology.yaml."""
    template, cue = LANG_LIBS[language][3], LANG_LIBS[language][5]
    return template.format(subject=BIOLOGY[language], ans_suffix=cue.format("X"))


def answer_pattern(language: str) -> re.Pattern[str]:
    """lm-eval's custom-extract regex for `language` (English drops "the ", to match "The answer is")."""
    before, _, after = LANG_LIBS[language][5].partition("({})")
    if language == "en":
        before = "answer is "
    return re.compile(re.escape(before) + r"\(?([ABCDEFGHIJ])\)?" + re.escape(after))


def lm_eval_extract(language: str) -> Callable[[str, Sample], Extraction]:
    """lm-eval's per-language custom-extract for MMLU-ProX: its regex, first match wins."""
    pattern = answer_pattern(language)

    def extract(text: str, sample: Sample) -> Extraction:
        match = pattern.search(text)
        if match is None or match.group(1) not in sample.options:
            return NOTHING
        return Extraction(match.group(1), "custom_extract", match.span(1))

    return extract


def language_folder(path: Path, language: str, name: str) -> Path:
    """`path/<language>` (the hub's layout), else `path` itself if it holds test files, else an error."""
    if not path.is_dir() or (path / language).is_dir():
        return path / language if path.is_dir() else path
    if any(next(path.glob(pattern), None) for pattern in TEST_FILES):
        return path  # a single language's folder
    have = sorted(p.name for p in path.iterdir() if p.is_dir())
    raise BadRequest("language", f"{name}: no {language}/ folder in {path} (it has: {', '.join(have)})")


def _sample(row: dict[str, Any], name: str, language: str) -> Sample:
    sample = to_sample(row, name)
    return replace(sample, metadata={**sample.metadata, "language": language})


def _rows(path: Path, language: str) -> list[dict[str, Any]]:
    return [
        r
        for r in read_records(path)
        if r.get("category") == CATEGORY and r.get("language", language) == language
    ]


@task("mmlu_prox_biology")
def mmlu_prox_biology(
    source: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    language: str = "en",
    num_fewshot: int | None = None,
) -> Task:
    """MMLU-ProX biology in one language (10 options); 5-shot CoT in that language.

    source: None (our bundled sample: en, de, ja), a folder with <language>/test* and
        <language>/validation* (.parquet or .jsonl, as on the hub), a single file with a
        `language` column, or "hf://li-lab/MMLU-ProX@<commit>". language: one of LANGUAGES.
    limit: the first N items in file order. seed: unused (nothing is shuffled).
    num_fewshot: exemplars (default 5).
    """
    if language not in LANGUAGES:
        raise BadRequest("language", f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    name = f"mmlu_prox_{language}_{CATEGORY}"
    where = resolve_data(
        source, "mmlu_prox", HUB_ID, REVISION, task="mmlu_prox_biology", hub_files=(f"{language}/*.parquet",)
    )
    test, validation = split_files(language_folder(where.path, language, name), name)
    rows = _rows(test, language)
    if not rows:
        raise BadRequest("source", f"{name}: no {CATEGORY} rows in {language} in {test}")
    wanted = NUM_FEWSHOT if num_fewshot is None else num_fewshot
    fewshot = [
        _sample(r, name, language) for r in (_rows(validation, language) if validation else [])[:wanted]
    ]
    samples = [_sample(r, name, language) for r in take(rows, limit)]
    files = [test, *([validation] if validation else [])]
    return Task(
        name=name,
        version=VERSION,
        samples=samples,
        prompt=make_prompt(description(language), fewshot, words(language), f"MMLU-ProX {language}", wanted),
        fewshot=fewshot,
        subgroups=("src",),
        source=where.describe(files),
        extractors={"lm-eval": lm_eval_extract(language)},
        files=tuple(str(f) for f in files),
    )
