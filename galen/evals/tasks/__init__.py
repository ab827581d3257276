"""The benchmarks galen ships, one file each; importing this package registers them with `@task`.

medqa.py        MedQA USMLE 4-option test (1273)
medmcqa.py      MedMCQA dev (4183; 2816 single-choice)
pubmedqa.py     PubMedQA PQA-L official test (500), yes / no / maybe
mmlu_pro.py     MMLU-Pro biology (717) and health (818), 5-shot CoT exemplars from validation
mmlu_prox.py    MMLU-ProX biology in one of several languages
medxpertqa.py   MedXpertQA Text test (2450), ten options
"""

from galen.evals.tasks.medmcqa import medmcqa
from galen.evals.tasks.medqa import medqa
from galen.evals.tasks.medxpertqa import medxpertqa
from galen.evals.tasks.mmlu_pro import mmlu_pro_biology, mmlu_pro_health
from galen.evals.tasks.mmlu_prox import mmlu_prox_biology
from galen.evals.tasks.pubmedqa import pubmedqa

__all__ = [
    "medmcqa",
    "medqa",
    "medxpertqa",
    "mmlu_pro_biology",
    "mmlu_pro_health",
    "mmlu_prox_biology",
    "pubmedqa",
]
