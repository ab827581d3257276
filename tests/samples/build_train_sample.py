"""Writes galen/train/samples/ (the corpus the CPU recipes train on), in `galen data`'s export
format, from the items below. It is a maintenance script, not part of galen: it lives with the
tests, which check that it reproduces the shipped files byte for byte.

Every item is our own, written for demos and tests: none is copied or paraphrased from a
benchmark or a training set, and none repeats an item of `galen/evals/samples/` (a test checks
that). The prompts are worded as `galen eval` asks (question, lettered options, the model card's
answer instruction), and each assistant turn thinks briefly, then answers in the asked format,
so SFT teaches the think-then-answer shape and GRPO can check the answer.

Run it again after editing: `python tests/samples/build_train_sample.py`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from galen.evals.task import LETTERS
from galen.evals.tasks.common import CHOICE_INSTRUCTION
from galen.evals.tasks.pubmedqa import INSTRUCTION as LABEL_INSTRUCTION

HERE = Path(__file__).resolve().parents[2] / "galen" / "train" / "samples"

# (id, question, options, gold letter, reasoning)
CHOICE = [
    (
        "mcq-01",
        "A 70-year-old man with chronic kidney disease has a serum potassium of 7.2 mmol/L. Which "
        "electrocardiogram finding is most typical of this level of hyperkalemia?",
        ["Prominent U waves", "Peaked T waves", "Delta waves", "Osborn (J) waves"],
        "B",
        "Severe hyperkalemia first shows as tall, narrow, peaked T waves; U waves go with hypokalemia, "
        "delta waves with pre-excitation and Osborn waves with hypothermia.",
    ),
    (
        "mcq-02",
        "A 58-year-old woman on long-term metformin has numbness of the feet, loss of vibration sense "
        "and an unsteady gait. Her hemoglobin is low with macrocytosis. Which spinal cord structures are "
        "most affected?",
        [
            "Anterior horns",
            "Dorsal columns and lateral corticospinal tracts",
            "Spinothalamic tracts only",
            "Central canal",
        ],
        "B",
        "Macrocytic anemia with neuropathy on metformin suggests vitamin B12 deficiency, which causes "
        "subacute combined degeneration of the dorsal columns and lateral corticospinal tracts.",
    ),
    (
        "mcq-03",
        "A 35-year-old woman has fatigue, weight loss, darkening of the skin creases, a serum sodium of "
        "128 mmol/L and a potassium of 5.9 mmol/L. Which finding would confirm a primary adrenal cause?",
        ["Low plasma ACTH", "High plasma ACTH with low cortisol", "High serum cortisol", "Low plasma renin"],
        "B",
        "Hyperpigmentation with hyponatremia and hyperkalemia points to primary adrenal insufficiency; "
        "the adrenal fails, so cortisol is low and the pituitary drives ACTH up.",
    ),
    (
        "mcq-04",
        "A 19-year-old man has pain that began around the umbilicus and moved to the right lower "
        "quadrant over 12 hours, with nausea and low-grade fever. What is the most likely diagnosis?",
        ["Acute appendicitis", "Acute cholecystitis", "Renal colic", "Perforated peptic ulcer"],
        "A",
        "Periumbilical pain migrating to the right iliac fossa with nausea and fever is the classic "
        "course of acute appendicitis.",
    ),
    (
        "mcq-05",
        "A 28-year-old woman has drooping eyelids and double vision that worsen through the day and "
        "improve with rest. Antibodies against which target are most likely present?",
        ["Voltage-gated calcium channels", "Myelin basic protein", "Acetylcholine receptors", "Aquaporin-4"],
        "C",
        "Fatigable ptosis and diplopia suggest myasthenia gravis, usually caused by antibodies against "
        "the postsynaptic acetylcholine receptor.",
    ),
    (
        "mcq-06",
        "A 45-year-old woman has weight gain, cold intolerance and constipation. Which pair of results "
        "fits primary hypothyroidism?",
        ["Low TSH, low free T4", "High TSH, high free T4", "Low TSH, high free T4", "High TSH, low free T4"],
        "D",
        "In primary hypothyroidism the thyroid makes too little hormone, so free T4 is low and the "
        "pituitary raises TSH.",
    ),
    (
        "mcq-07",
        "A 3-year-old boy has had fever for 6 days, bilateral conjunctival injection, cracked red lips, "
        "a rash and swollen hands. Which treatment lowers his risk of coronary artery aneurysm?",
        [
            "Oral amoxicillin",
            "Intravenous immunoglobulin with aspirin",
            "Oral prednisolone alone",
            "Watchful waiting",
        ],
        "B",
        "Prolonged fever with conjunctivitis, mucosal changes, rash and extremity swelling is Kawasaki "
        "disease; intravenous immunoglobulin with aspirin reduces coronary aneurysms.",
    ),
    (
        "mcq-08",
        "A university student is admitted with meningococcal meningitis. Which drug is appropriate "
        "prophylaxis for her roommate?",
        ["Oral rifampicin", "Oral metronidazole", "Oral fluconazole", "Oral acyclovir"],
        "A",
        "Close contacts of meningococcal disease receive chemoprophylaxis such as rifampicin (or "
        "ciprofloxacin or ceftriaxone); the other drugs do not cover Neisseria meningitidis.",
    ),
    (
        "mcq-09",
        "After a motorbike crash a 22-year-old man is hypotensive with absent breath sounds on the "
        "right, a hyperresonant right chest and a trachea deviated to the left. What is the first step?",
        [
            "Chest CT",
            "Needle decompression of the right chest",
            "Intubation and observation",
            "Pericardiocentesis",
        ],
        "B",
        "Hypotension, absent breath sounds, hyperresonance and tracheal deviation mean a tension "
        "pneumothorax, which needs immediate decompression before any imaging.",
    ),
    (
        "mcq-10",
        "A 4-year-old boy has periorbital and leg swelling, heavy proteinuria and a low serum albumin "
        "with normal blood pressure and no hematuria. What is the most likely cause?",
        ["IgA nephropathy", "Membranous nephropathy", "Minimal change disease", "Alport syndrome"],
        "C",
        "Nephrotic syndrome in a young child without hematuria or hypertension is most often minimal "
        "change disease.",
    ),
    (
        "mcq-11",
        "A 30-year-old man is found unresponsive with pinpoint pupils and a respiratory rate of 5 per "
        "minute. Which drug should be given first?",
        ["Flumazenil", "Naloxone", "Atropine", "Physostigmine"],
        "B",
        "Coma, miosis and slow breathing are the opioid toxidrome; naloxone reverses it.",
    ),
    (
        "mcq-12",
        "A 17-year-old girl took a large overdose of paracetamol (acetaminophen) 6 hours ago. Which "
        "antidote is indicated?",
        ["Fomepizole", "Deferoxamine", "N-acetylcysteine", "Sodium bicarbonate"],
        "C",
        "N-acetylcysteine restores glutathione and prevents liver injury after paracetamol overdose.",
    ),
    (
        "mcq-13",
        "A 26-year-old woman has bloating, diarrhea and iron deficiency. Which blood test is the best "
        "first screen for celiac disease while she still eats gluten?",
        [
            "Anti-tissue transglutaminase IgA",
            "Antinuclear antibody",
            "Anti-mitochondrial antibody",
            "Serum lipase",
        ],
        "A",
        "Anti-tissue transglutaminase IgA, with total IgA, is the first-line screening test for celiac "
        "disease.",
    ),
    (
        "mcq-14",
        "A newborn with trisomy 21 has a murmur. Which cardiac defect is most characteristic of this "
        "condition?",
        [
            "Transposition of the great arteries",
            "Atrioventricular septal defect",
            "Coarctation of the aorta",
            "Hypoplastic left heart",
        ],
        "B",
        "Down syndrome is most characteristically linked to atrioventricular (endocardial cushion) "
        "septal defects.",
    ),
    (
        "mcq-15",
        "A 40-year-old man on long-term lithium passes large volumes of dilute urine that do not "
        "concentrate after desmopressin. What is the most likely cause?",
        [
            "Central diabetes insipidus",
            "Nephrogenic diabetes insipidus",
            "Primary polydipsia",
            "Syndrome of inappropriate ADH",
        ],
        "B",
        "Lithium makes the collecting duct resistant to ADH; no response to desmopressin means "
        "nephrogenic diabetes insipidus.",
    ),
    (
        "mcq-16",
        "A man who has eaten almost no fruit or vegetables for months has bleeding gums, bruising and "
        "corkscrew hairs. Which process is impaired?",
        [
            "Hydroxylation of proline and lysine in collagen",
            "Gamma-carboxylation of clotting factors",
            "Heme synthesis",
            "Platelet production",
        ],
        "A",
        "This is scurvy: without vitamin C, prolyl and lysyl hydroxylation fails and collagen is weak.",
    ),
    (
        "mcq-17",
        "A 12-year-old girl with asthma is wheezing and short of breath after exercise. What is the "
        "first-line relief treatment?",
        [
            "Inhaled short-acting beta-2 agonist",
            "Oral montelukast",
            "Oral antihistamine",
            "Intravenous aminophylline",
        ],
        "A",
        "An inhaled short-acting beta-2 agonist such as salbutamol relieves acute bronchospasm quickly.",
    ),
    (
        "mcq-18",
        "Sickle cell anemia results from which change in the beta-globin chain?",
        [
            "Lysine replaces glutamic acid",
            "Valine replaces glutamic acid",
            "Deletion of both beta genes",
            "A premature stop codon",
        ],
        "B",
        "A point mutation swaps glutamic acid for valine at position 6 of beta-globin, giving hemoglobin S.",
    ),
    (
        "mcq-19",
        "A 60-year-old woman has kidney stones. Serum calcium is high, phosphate is low and "
        "parathyroid hormone is high. What is the most likely diagnosis?",
        [
            "Vitamin D toxicity",
            "Humoral hypercalcemia of malignancy",
            "Primary hyperparathyroidism",
            "Secondary hyperparathyroidism from kidney failure",
        ],
        "C",
        "High calcium with an unsuppressed, high PTH and low phosphate is primary hyperparathyroidism.",
    ),
    (
        "mcq-20",
        "A 29-year-old woman with a past pelvic inflammatory disease has amenorrhea, a positive "
        "pregnancy test and one-sided pelvic pain. Which diagnosis must be excluded first?",
        ["Ovarian torsion", "Ectopic pregnancy", "Endometriosis", "Urinary tract infection"],
        "B",
        "Tubal scarring from pelvic inflammatory disease raises the risk of ectopic pregnancy, which is "
        "dangerous and must be ruled out in a pregnant woman with pelvic pain.",
    ),
    (
        "mcq-21",
        "A heavy smoker has right-sided ptosis, a small right pupil and no sweating on the right side "
        "of his face. Where is the lesion most likely?",
        ["Oculomotor nerve", "Sympathetic chain at the lung apex", "Facial nerve", "Optic chiasm"],
        "B",
        "Ptosis, miosis and anhidrosis are Horner syndrome; in a smoker an apical lung tumour "
        "compressing the sympathetic chain is the likely cause.",
    ),
    (
        "mcq-22",
        "Which test is used to adjust the dose of warfarin?",
        [
            "Activated partial thromboplastin time",
            "International normalized ratio",
            "Platelet count",
            "Anti-factor Xa level",
        ],
        "B",
        "Warfarin lowers vitamin K-dependent factors and is monitored with the prothrombin time as INR.",
    ),
    (
        "mcq-23",
        "A 33-year-old man woke up unable to close his left eye or raise the left corner of his mouth; "
        "his forehead is also weak on that side. Which nerve is affected?",
        ["Trigeminal nerve", "Facial nerve", "Hypoglossal nerve", "Abducens nerve"],
        "B",
        "Weakness of the whole half of the face, forehead included, is a lower motor neuron lesion of the "
        "facial nerve, as in Bell palsy.",
    ),
    (
        "mcq-24",
        "A 66-year-old man on digoxin has nausea, confusion and sees yellow halos around lights. Which "
        "laboratory abnormality most increases the risk of this toxicity?",
        ["Hyperkalemia", "Hypokalemia", "Hypernatremia", "Hypophosphatemia"],
        "B",
        "Digoxin competes with potassium at the sodium-potassium pump, so hypokalemia increases its "
        "binding and toxicity.",
    ),
]

# (id, context, question, gold label, reasoning)
LABEL = [
    (
        "ynm-01",
        "Adults undergoing elective heart surgery were randomised to twice-daily chlorhexidine mouth "
        "rinse or placebo. Ventilator-associated pneumonia occurred in 4% versus 11% (p=0.002).",
        "Does chlorhexidine mouth rinse reduce ventilator-associated pneumonia after heart surgery?",
        "yes",
        "A randomised trial found a large, significant drop in pneumonia with chlorhexidine.",
    ),
    (
        "ynm-02",
        "In a randomised trial of 640 patients having clean elective hand surgery, wound infection "
        "occurred in 1.6% with a single antibiotic dose and 1.5% with none (p=0.9).",
        "Does routine antibiotic prophylaxis reduce wound infection after clean hand surgery?",
        "no",
        "Infection rates were the same with and without the antibiotic in a large trial.",
    ),
    (
        "ynm-03",
        "In 180 older adults with suspected infection, a triage lactate above 4 mmol/L had an odds "
        "ratio for in-hospital death of 1.8 (95% CI 0.9 to 3.7). The authors call for larger studies.",
        "Does a single triage lactate predict in-hospital death in older adults with suspected infection?",
        "maybe",
        "The association points upward but the confidence interval includes no effect, so the "
        "evidence is inconclusive.",
    ),
    (
        "ynm-04",
        "Adults with type 2 diabetes given a step-counting app walked a mean 1,900 more steps a day "
        "than controls after 6 months (95% CI 1,200 to 2,600).",
        "Does a step-counting app increase daily walking in adults with type 2 diabetes?",
        "yes",
        "Step counts rose clearly, with a confidence interval well above zero.",
    ),
    (
        "ynm-05",
        "Diabetic foot ulcers dressed with medical honey healed in a median of 41 days versus 47 days "
        "with saline gauze (p=0.21) in a pilot trial of 52 patients.",
        "Does honey dressing speed the healing of diabetic foot ulcers?",
        "maybe",
        "Healing was slightly faster with honey but not significantly, in a small pilot, so it is unclear.",
    ),
    (
        "ynm-06",
        "In 1,100 adults extubated after elective surgery, reintubation within 72 hours occurred in "
        "6.1% with high-flow nasal oxygen and 5.9% with standard oxygen.",
        "Is high-flow nasal oxygen better than standard oxygen at preventing reintubation after elective "
        "surgery?",
        "no",
        "Reintubation rates were almost identical in a large trial.",
    ),
    (
        "ynm-07",
        "Women chewing gum three times a day after caesarean section passed flatus a mean 7 hours "
        "earlier than controls (p<0.001) in a trial of 300 women.",
        "Does chewing gum speed the return of bowel function after caesarean section?",
        "yes",
        "Bowel function returned significantly earlier with gum in a sizeable randomised trial.",
    ),
    (
        "ynm-08",
        "Critically ill adults were randomised to intensive or conventional blood glucose control. "
        "90-day mortality was 28.1% and 25.3% respectively, and severe hypoglycaemia was more common with "
        "intensive control.",
        "Does intensive glucose control lower mortality in critically ill adults?",
        "no",
        "Mortality was not lower with intensive control, and hypoglycaemia was more frequent.",
    ),
    (
        "ynm-09",
        "A pharmacist-led medication review for adults over 75 was followed by 30-day readmission in "
        "14% compared with 17% in the usual-care period; the study was a before-after comparison at one "
        "hospital.",
        "Does a pharmacist-led medication review reduce readmissions in older adults?",
        "maybe",
        "Readmissions fell, but a single-site before-after design cannot separate the review from other "
        "changes over time.",
    ),
    (
        "ynm-10",
        "In a cluster trial across 40 wards, a hand-hygiene audit and feedback programme cut MRSA "
        "bloodstream infections from 1.9 to 1.1 per 10,000 bed-days (rate ratio 0.58, 95% CI 0.42 to 0.80).",
        "Does hand-hygiene audit with feedback reduce MRSA bloodstream infections?",
        "yes",
        "The rate ratio and its whole confidence interval show fewer infections.",
    ),
    (
        "ynm-11",
        "Marathon runners randomised to cold-water immersion or rest reported muscle soreness of 4.1 "
        "and 4.6 on a 10-point scale the next day (95% CI for the difference -1.2 to 0.2).",
        "Does cold-water immersion reduce muscle soreness after a marathon?",
        "maybe",
        "Soreness was a little lower but the interval crosses zero, so the benefit is uncertain.",
    ),
    (
        "ynm-12",
        "In 2,400 adults with hypertension, taking the daily tablet at bedtime rather than in the "
        "morning made no difference to 24-hour mean blood pressure "
        "(difference 0.3 mm Hg, 95% CI -0.8 to 1.4).",
        "Does bedtime dosing lower 24-hour blood pressure more than morning dosing?",
        "no",
        "A large trial found no difference, with a narrow interval around zero.",
    ),
]


def choice_prompt(question: str, options: list[str]) -> str:
    lettered = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))
    return f"{question}\n\n{lettered}\n\n{CHOICE_INSTRUCTION}"


def label_prompt(context: str, question: str) -> str:
    return f"{context}\n\nQuestion: {question}\n\n{LABEL_INSTRUCTION}"


def balanced(options: list[str], gold: str, i: int) -> tuple[list[str], str]:
    """Move the right option to position i mod n, so gold letters are evenly spread (no "always B")."""
    options, right, target = list(options), LETTERS.index(gold), i % len(options)
    options[right], options[target] = options[target], options[right]
    return options, LETTERS[target]


def reply(reasoning: str, answer: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{json.dumps({'answer': answer})}"


def rows() -> tuple[list[dict], list[dict]]:
    """(SFT rows, GRPO rows) in `galen data`'s export format."""
    sft, grpo = [], []
    for i, (item_id, question, options, gold, reasoning) in enumerate(CHOICE):
        options, gold = balanced(options, gold, i)
        prompt = [{"role": "user", "content": choice_prompt(question, options)}]
        sft.append(
            {
                "id": item_id,
                "source": "galen-sample",
                "messages": [*prompt, {"role": "assistant", "content": reply(reasoning, gold)}],
            }
        )
        grpo.append(
            {
                "id": item_id,
                "source": "galen-sample",
                "prompt": prompt,
                "answer": gold,
                "kind": "choice",
                "choices": list(LETTERS[: len(options)]),  # the option letters, as galen data exports
            }
        )
    for item_id, context, question, gold, reasoning in LABEL:
        prompt = [{"role": "user", "content": label_prompt(context, question)}]
        sft.append(
            {
                "id": item_id,
                "source": "galen-sample",
                "messages": [*prompt, {"role": "assistant", "content": reply(reasoning, gold)}],
            }
        )
        grpo.append(
            {
                "id": item_id,
                "source": "galen-sample",
                "prompt": prompt,
                "answer": gold,
                "kind": "label",
                "choices": ["yes", "no", "maybe"],
            }
        )
    return sft, grpo


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(folder: Path = HERE) -> None:
    export = folder / "export"
    export.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, table in zip(("sft", "grpo"), rows(), strict=True):
        jsonl = export / f"{name}.jsonl"
        jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in table), encoding="utf-8")
        pq.write_table(pa.Table.from_pylist(table), export / f"{name}.parquet")
        files[f"export/{name}.jsonl"] = {"rows": len(table), "sha256": _sha256(jsonl)}
    manifest = {
        "name": "galen-train-sample",
        "description": "Original items written for galen's CPU training recipe and tests; not a benchmark.",
        "sources": {"galen-sample": {"license": "Apache-2.0", "rows": len(CHOICE) + len(LABEL)}},
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
