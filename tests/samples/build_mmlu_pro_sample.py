"""Writes galen/evals/samples/mmlu_pro/'s two parquet files (MMLU-Pro's upstream format) from
the items below. A maintenance script, not part of galen.

The items are our own, written for demos and tests; none is an MMLU-Pro question. Run it again
after editing: `python tests/samples/build_mmlu_pro_sample.py`.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from galen.evals.task import LETTERS

HERE = Path(__file__).resolve().parents[2] / "galen" / "evals" / "samples" / "mmlu_pro"

# (category, src, question, options, answer letter, chain of thought or None)
TEST = [
    (
        "biology",
        "ori_mmlu-college_biology",
        "In eukaryotic cells, where does oxidative phosphorylation produce most of the cell's ATP?",
        [
            "Nucleus",
            "Golgi apparatus",
            "Inner mitochondrial membrane",
            "Lysosome",
            "Smooth endoplasmic reticulum",
            "Peroxisome",
            "Ribosome",
            "Outer mitochondrial membrane",
            "Chloroplast stroma",
            "Cytosol",
        ],
        "C",
    ),
    (
        "biology",
        "stemez-Genetics",
        "In a population in Hardy-Weinberg equilibrium the frequency of a recessive allele is 0.3. "
        "What fraction of the population is heterozygous?",
        ["0.09", "0.21", "0.30", "0.49", "0.51", "0.60", "0.42", "0.70", "0.91", "0.18"],
        "G",
    ),
    (
        "biology",
        "ori_mmlu-high_school_biology",
        "Which enzyme unwinds the DNA double helix at a replication fork?",
        [
            "DNA ligase",
            "Primase",
            "Topoisomerase II",
            "DNA polymerase I",
            "Helicase",
            "Telomerase",
            "Reverse transcriptase",
            "Exonuclease III",
            "RNA polymerase II",
            "Single-strand binding protein",
        ],
        "E",
    ),
    (
        "biology",
        "stemez-Genetics",
        "A point mutation that turns a codon for an amino acid into a stop codon is called a",
        [
            "silent mutation",
            "missense mutation",
            "frameshift mutation",
            "inversion",
            "transition",
            "duplication",
            "translocation",
            "nonsense mutation",
        ],
        "H",
    ),
    (
        "health",
        "ori_mmlu-nutrition",
        "A deficiency of which vitamin causes scurvy?",
        [
            "Vitamin A",
            "Thiamine",
            "Vitamin B12",
            "Vitamin C",
            "Vitamin D",
            "Vitamin E",
            "Vitamin K",
            "Niacin",
            "Folate",
            "Biotin",
        ],
        "D",
    ),
    (
        "health",
        "ori_mmlu-clinical_knowledge",
        "What chest compression depth is recommended for an adult during cardiopulmonary resuscitation?",
        [
            "1-2 cm",
            "At least 5 cm but no more than 6 cm",
            "2-3 cm",
            "3-4 cm",
            "7-8 cm",
            "8-10 cm",
            "Half the depth of the chest",
            "About 1 cm",
            "As deep as possible",
            "10-12 cm",
        ],
        "B",
    ),
    (
        "health",
        "ori_mmlu-anatomy",
        "Which hormone is secreted by the beta cells of the pancreatic islets?",
        [
            "Glucagon",
            "Somatostatin",
            "Pancreatic polypeptide",
            "Gastrin",
            "Insulin",
            "Secretin",
            "Cholecystokinin",
            "Vasoactive intestinal peptide",
            "Ghrelin",
            "Cortisol",
        ],
        "E",
    ),
    (
        "health",
        "ori_mmlu-clinical_knowledge",
        "What is the normal resting respiratory rate of a healthy adult?",
        [
            "12-20 breaths per minute",
            "4-6 breaths per minute",
            "6-8 breaths per minute",
            "25-30 breaths per minute",
            "30-40 breaths per minute",
            "40-50 breaths per minute",
            "50-60 breaths per minute",
            "60-70 breaths per minute",
            "2-4 breaths per minute",
        ],
        "A",
    ),
    (
        "chemistry",
        "scibench-chemistry",
        "What is the pH of a 0.001 M solution of hydrochloric acid at 25 degrees C?",
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
        "C",
    ),
]

VALIDATION = [
    (
        "biology",
        "ori_mmlu-high_school_biology",
        "Which molecule carries amino acids to the ribosome during translation?",
        [
            "mRNA",
            "rRNA",
            "tRNA",
            "snRNA",
            "DNA",
            "miRNA",
            "Signal recognition particle",
            "Ribozyme",
            "Aminoacyl-tRNA synthetase",
            "Poly(A) tail",
        ],
        "C",
        "Each tRNA is charged with a specific amino acid and pairs its anticodon with a codon of the mRNA "
        "on the ribosome, so tRNA delivers the amino acids.",
    ),
    (
        "biology",
        "ori_mmlu-college_biology",
        "Which process produces four genetically distinct haploid cells from one diploid cell?",
        [
            "Mitosis",
            "Binary fission",
            "Budding",
            "Fragmentation",
            "Cytokinesis",
            "Meiosis",
            "Apoptosis",
            "Endomitosis",
            "Parthenogenesis",
            "Conjugation",
        ],
        "F",
        "Meiosis has two divisions after one round of DNA replication, giving four haploid cells, and "
        "crossing over and independent assortment make them genetically distinct.",
    ),
    (
        "biology",
        "ori_mmlu-high_school_biology",
        "Where in the chloroplast do the light-dependent reactions of photosynthesis take place?",
        [
            "Stroma",
            "Thylakoid membranes",
            "Outer chloroplast membrane",
            "Mitochondrial matrix",
            "Cytosol",
            "Nucleus",
            "Cell wall",
            "Central vacuole",
            "Intermembrane space",
            "Ribosomes",
        ],
        "B",
        "The photosystems and the electron transport chain that capture light energy sit in the thylakoid "
        "membranes; the Calvin cycle runs in the stroma.",
    ),
    (
        "biology",
        "stemez-Biology",
        "What holds the two strands of a DNA double helix together?",
        [
            "Peptide bonds",
            "Ionic bonds between phosphates",
            "Disulfide bonds",
            "Glycosidic bonds",
            "Phosphodiester bonds",
            "Carbon-carbon bonds",
            "Metallic bonds",
            "Hydrogen bonds between paired bases",
            "Ester bonds",
            "Covalent bonds between sugars",
        ],
        "H",
        "Within a strand nucleotides are joined by phosphodiester bonds, but the two strands are held "
        "together by hydrogen bonds between complementary bases (A-T and G-C).",
    ),
    (
        "biology",
        "stemez-Genetics",
        "Two pea plants heterozygous for tallness (Tt x Tt) are crossed. Tall is dominant. What phenotypic "
        "ratio is expected in the offspring?",
        ["1:1", "1:2:1", "9:3:3:1", "3:1", "All tall", "All short", "2:1", "1:3", "4:0", "1:1:1:1"],
        "D",
        "The genotypes are 1 TT : 2 Tt : 1 tt. TT and Tt are both tall, so there are three tall plants for "
        "every short one.",
    ),
    (
        "health",
        "ori_mmlu-clinical_knowledge",
        "Which red cell blood group can be given to recipients of any ABO and RhD group in an emergency?",
        [
            "A positive",
            "B negative",
            "AB positive",
            "AB negative",
            "O positive",
            "A negative",
            "B positive",
            "O negative",
            "A2 subgroup",
            "AB2 subgroup",
        ],
        "H",
        "Group O red cells carry neither A nor B antigen and RhD-negative cells lack the D antigen, so "
        "O negative cells suit any recipient.",
    ),
    (
        "health",
        "ori_mmlu-nutrition",
        "What is the normal range of fasting plasma glucose in adults?",
        [
            "40-60 mg/dL",
            "70-99 mg/dL",
            "100-125 mg/dL",
            "126-140 mg/dL",
            "140-180 mg/dL",
            "180-200 mg/dL",
            "200-250 mg/dL",
            "250-300 mg/dL",
            "300-400 mg/dL",
            "Above 400 mg/dL",
        ],
        "B",
        "A fasting glucose of 100-125 mg/dL is impaired fasting glucose and 126 mg/dL or more suggests "
        "diabetes, so the normal range is 70-99 mg/dL.",
    ),
    (
        "health",
        "ori_mmlu-virology",
        "Which vaccine is given at birth in most national schedules to prevent a chronic liver infection?",
        [
            "Measles",
            "Human papillomavirus",
            "Varicella",
            "Rotavirus",
            "Influenza",
            "Pneumococcal",
            "Meningococcal",
            "Tetanus toxoid",
            "Hepatitis B",
            "Rabies",
        ],
        "I",
        "Hepatitis B can pass from mother to baby at birth and often becomes chronic in infants, so the "
        "first dose of hepatitis B vaccine is given at birth.",
    ),
    (
        "health",
        "ori_mmlu-nutrition",
        "How is body mass index calculated?",
        [
            "Weight in kilograms divided by the square of height in metres",
            "Height divided by weight",
            "Weight multiplied by height",
            "Waist circumference divided by hip circumference",
            "Weight in pounds divided by height in inches",
            "Weight divided by age",
            "Height squared divided by weight",
            "Waist circumference divided by height",
            "Fat mass divided by lean mass",
            "Weight divided by height in metres",
        ],
        "A",
        "Body mass index is weight in kilograms divided by height in metres squared (kg/m2).",
    ),
    (
        "health",
        "ori_mmlu-nutrition",
        "Deficiency of which nutrient is the leading preventable cause of intellectual disability worldwide?",
        [
            "Iron",
            "Iodine",
            "Zinc",
            "Vitamin A",
            "Calcium",
            "Selenium",
            "Folate",
            "Vitamin D",
            "Magnesium",
            "Copper",
        ],
        "B",
        "Iodine is needed for thyroid hormone, which the developing brain depends on; iodine deficiency in "
        "pregnancy and infancy is the most common preventable cause of brain damage.",
    ),
    (
        "chemistry",
        "scibench-chemistry",
        "How many moles of water are in 18 g of water?",
        ["0.5", "1", "2", "18", "9", "0.1", "36", "3", "1.5", "6"],
        "B",
        "The molar mass of water is about 18 g/mol, so 18 g is 1 mole.",
    ),
]


def rows(items: list[tuple], first_id: int) -> list[dict]:
    out = []
    for n, item in enumerate(items):
        category, src, question, options, answer = item[:5]
        cot = item[5] if len(item) > 5 else None
        out.append(
            {
                "question_id": first_id + n,
                "question": question,
                "options": options,
                "answer": answer,
                "answer_index": LETTERS.index(answer),
                "cot_content": f"A: Let's think step by step. {cot} The answer is ({answer})." if cot else "",
                "category": category,
                "src": src,
            }
        )
    return out


if __name__ == "__main__":
    pq.write_table(pa.Table.from_pylist(rows(TEST, 900000)), HERE / "test-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(rows(VALIDATION, 900100)), HERE / "validation-00000-of-00001.parquet")
