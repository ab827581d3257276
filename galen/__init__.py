"""galen: build, evaluate and serve medical reasoning LLMs, openly and auditably.

For research use only. galen and the models it serves are not medical devices: their output
must not guide diagnosis, treatment or any other clinical decision.
"""

__version__ = "0.1.0"

RESEARCH_NOTICE = (
    "Research use only: not a medical device. Outputs may be wrong or misleading and must not "
    "guide diagnosis, treatment or any other clinical decision."
)
