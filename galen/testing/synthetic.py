"""Medical-style training items that we generate, for tests and the decontamination benchmark.

Every word list and template here was written for galen; nothing is taken from a benchmark. The
items read like exam vignettes, short-answer questions, research questions on an abstract and
consumer questions, with the boilerplate real exam questions share ("Which of the following is
the most likely diagnosis?"), so they exercise decontamination the way a real corpus does: lots
of shared phrasing, no copied items. They are not medically accurate and must never be trained on.

>>> item = next(synthetic_items(1, seed=0))
>>> sorted(item)
['answer', 'context', 'explanation', 'id', 'options', 'question']
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

AGES = [str(n) for n in range(2, 90)]
PEOPLE = ["man", "woman", "boy", "girl", "retired teacher", "farmer", "nurse", "student", "truck driver"]
PLACES = [
    "comes to the physician",
    "is brought to the emergency department",
    "visits a rural health clinic",
    "is seen in the outpatient clinic",
    "is admitted to the medical ward",
    "presents to urgent care",
]
DURATIONS = ["2-day", "5-day", "1-week", "3-week", "2-month", "6-month", "1-year"]
SYMPTOMS = [
    "intermittent chest tightness",
    "worsening shortness of breath",
    "painless jaundice",
    "blurred vision in the left eye",
    "swelling of both ankles",
    "recurrent nosebleeds",
    "burning pain on urination",
    "a productive cough with green sputum",
    "numbness in both feet",
    "episodes of palpitations",
    "loss of appetite and weight loss",
    "a pruritic rash on the forearms",
    "morning stiffness of the hands",
    "difficulty swallowing solid food",
    "severe headache behind the eyes",
    "pain in the right lower quadrant",
    "fatigue and cold intolerance",
    "excessive thirst and frequent urination",
]
HISTORY = [
    "He has a history of poorly controlled hypertension.",
    "She has smoked one pack of cigarettes daily for 20 years.",
    "There is no relevant family history.",
    "He drinks three beers every evening.",
    "She recently returned from a trip to the coast.",
    "His only medication is a daily multivitamin.",
    "She takes an oral contraceptive.",
    "He had a similar episode last winter that resolved on its own.",
    "She works in a poultry processing plant.",
    "Her mother was diagnosed with thyroid disease at a young age.",
]
FINDINGS = [
    "Temperature is 38.4 C, pulse is 104/min, and blood pressure is 92/60 mm Hg.",
    "Examination shows pale conjunctivae and a soft systolic murmur.",
    "There is tenderness over the costovertebral angle.",
    "Auscultation reveals crackles at the right lung base.",
    "The thyroid gland is diffusely enlarged and nontender.",
    "Neurologic examination shows decreased vibration sense in the toes.",
    "The abdomen is distended with shifting dullness.",
    "Fundoscopy shows swelling of the optic disc.",
    "Several tender lymph nodes are palpable in the neck.",
    "The skin over the shins shows raised red nodules.",
]
LABS = [
    "Hemoglobin is 8.9 g/dL.",
    "Serum sodium is 126 mEq/L.",
    "Leukocyte count is 17,500/mm3.",
    "Serum creatinine has doubled since last month.",
    "Urinalysis shows red cell casts.",
    "Fasting glucose is 212 mg/dL.",
    "Serum calcium is 12.1 mg/dL.",
    "Thyroid-stimulating hormone is markedly raised.",
]
STEMS = [
    "Which of the following is the most likely diagnosis?",
    "Which of the following is the most appropriate next step in management?",
    "Which of the following is the most likely cause of these findings?",
    "Which of the following is the most appropriate pharmacotherapy?",
    "Which of the following would most likely have prevented this condition?",
    "What is the best initial test?",
]
ANSWERS = [
    "Iron deficiency anemia",
    "Acute pyelonephritis",
    "Community-acquired pneumonia",
    "Hypothyroidism",
    "Vitamin B12 deficiency",
    "Nephrotic syndrome",
    "Rheumatoid arthritis",
    "Esophageal stricture",
    "Primary hyperparathyroidism",
    "Start intravenous fluids",
    "Order an abdominal ultrasound",
    "Begin oral amoxicillin",
    "Measure serum ferritin",
    "Refer for endoscopy",
    "Reassure and observe",
    "Acute appendicitis",
    "Diabetic ketoacidosis",
    "Erythema nodosum",
    "Idiopathic intracranial hypertension",
    "Sarcoidosis",
]
TOPICS = [
    "anticoagulation",
    "childhood vaccination",
    "oral rehydration",
    "malaria prophylaxis",
    "salt restriction",
    "inhaled corticosteroids",
    "early mobilisation",
    "community health workers",
    "bed nets",
    "home blood pressure monitoring",
]
GROUPS = ["older adults", "pregnant women", "school children", "night-shift workers", "rural households"]
OUTCOMES = ["hospital admissions", "mortality at one year", "length of stay", "quality of life", "relapse"]
CONSUMER = [
    "Is it safe to take {drug} with {drug2}?",
    "How long does {condition} usually last?",
    "What foods should I avoid if I have {condition}?",
    "Can {condition} come back after treatment?",
    "When should I see a doctor about {symptom}?",
]
DRUGS = ["ibuprofen", "paracetamol", "metformin", "lisinopril", "amoxicillin", "omeprazole", "sertraline"]
LETTERS = "ABCDE"


def _vignette(rng: random.Random) -> dict[str, Any]:
    sex_pronoun = rng.choice(PEOPLE)
    parts = [
        f"A {rng.choice(AGES)}-year-old {sex_pronoun} {rng.choice(PLACES)} because of a "
        f"{rng.choice(DURATIONS)} history of {rng.choice(SYMPTOMS)} and {rng.choice(SYMPTOMS)}.",
        *rng.sample(HISTORY, rng.randint(1, 3)),
        *rng.sample(FINDINGS, rng.randint(1, 3)),
        *rng.sample(LABS, rng.randint(0, 2)),
        rng.choice(STEMS),
    ]
    options = rng.sample(ANSWERS, rng.choice([4, 5]))
    gold = rng.randrange(len(options))
    return {
        "question": " ".join(parts),
        "options": {LETTERS[i]: text for i, text in enumerate(options)},
        "answer": LETTERS[gold],
        "context": None,
        "explanation": f"The findings fit {options[gold].lower()} better than the other choices.",
    }


def _short_question(rng: random.Random) -> dict[str, Any]:
    symptom = rng.choice(SYMPTOMS)
    options = rng.sample(ANSWERS, 4)
    gold = rng.randrange(4)
    return {
        "question": f"In a patient with {symptom}, which finding best supports {options[gold].lower()}?",
        "options": {LETTERS[i]: text for i, text in enumerate(options)},
        "answer": LETTERS[gold],
        "context": None,
        "explanation": None,
    }


def _research(rng: random.Random) -> dict[str, Any]:
    topic, group, outcome = rng.choice(TOPICS), rng.choice(GROUPS), rng.choice(OUTCOMES)
    n = rng.randint(40, 4000)
    change = rng.choice(["reduced", "did not change", "slightly increased"])
    context = (
        f"We enrolled {n} {group} in a {rng.choice(['randomised', 'cohort', 'cross-sectional'])} study of "
        f"{topic}. The primary outcome was {outcome}. Over {rng.randint(3, 36)} months, {topic} "
        f"{change} {outcome} compared with usual care. {rng.choice(HISTORY)}"
    )
    label = {"reduced": "yes", "did not change": "no", "slightly increased": "maybe"}[change]
    return {
        "question": f"Does {topic} reduce {outcome} in {group}?",
        "options": {},
        "answer": label,
        "context": context,
        "explanation": f"In this study {topic} {change} {outcome}.",
    }


def _consumer(rng: random.Random) -> dict[str, Any]:
    template = rng.choice(CONSUMER)
    question = template.format(
        drug=rng.choice(DRUGS),
        drug2=rng.choice(DRUGS),
        condition=rng.choice(ANSWERS).lower(),
        symptom=rng.choice(SYMPTOMS),
    )
    return {
        "question": question,
        "options": {},
        "answer": None,
        "context": None,
        "explanation": "It depends on the person; a clinician who knows the history can advise.",
    }


KINDS = ((_vignette, 6), (_short_question, 2), (_research, 1), (_consumer, 1))


def synthetic_items(count: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`count` items, the same ones for the same seed: vignettes (60%), short questions, research
    questions on an abstract and consumer questions. Keys: id, question, options, answer (letter,
    yes/no/maybe or None), context, explanation."""
    rng = random.Random(seed)
    makers = [maker for maker, weight in KINDS for _ in range(weight)]
    for k in range(count):
        item = rng.choice(makers)(rng)
        yield {"id": f"synthetic-{seed}-{k}", **item}
