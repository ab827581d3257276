"""galen eval: medical benchmarks, answer extraction, scoring and reports.

from galen.evals import EvalConfig, evaluate, get_task, open_client
task = get_task("medqa", limit=20)          # our bundled sample unless source= is given
client = open_client("smollm2")              # or "http://host:8000/v1"
run = evaluate(EvalConfig(model="smollm2", tasks=["medqa"]), [task], client, Path("runs/x"))
"""

from galen.evals.clients import EndpointClient, LocalClient, open_client
from galen.evals.extract import Extraction, extract_choice, extract_label, extract_mmlu_pro
from galen.evals.runner import EvalConfig, EvalRun, evaluate
from galen.evals.task import TASKS, Sample, Task, get_task, task

__all__ = [
    "TASKS",
    "EndpointClient",
    "EvalConfig",
    "EvalRun",
    "Extraction",
    "LocalClient",
    "Sample",
    "Task",
    "evaluate",
    "extract_choice",
    "extract_label",
    "extract_mmlu_pro",
    "get_task",
    "open_client",
    "task",
]
