# SEAGULL — every target bootstraps its own virtual environment, so a fresh machine needs only
# `make shards` or `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SHARDS  ?= shards
RUNS    ?= runs
SAMPLE  ?= 8
# ROIs `make evaluate` scores (about 2.5 min on 2 cores); EVAL_LIMIT= (empty) scores every labelled ROI.
EVAL_LIMIT ?= 2000

export PREFECT_SERVER_ANALYTICS_ENABLED := false

.DEFAULT_GOAL := help
.PHONY: help setup test test-fast shards train evaluate bench serve lint format clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	# torch first, pinned: an unpinned torch would pull a multi-GB build from the registry.
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -c constraints.txt -e '.[build,model,dev]'
	touch $@

setup: $(STAMP) ## Create .venv and install the pinned dependencies

test: $(STAMP) ## Run the whole test suite (slow end-to-end tests included)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## Run the tests without the slow end-to-end ones
	$(BIN)/python -m pytest -q -m "not slow"

shards: $(STAMP) ## Build SEAGULL-100w shards from the embedded RAW sample into ./shards
	$(BIN)/seagull build --sample $(SAMPLE) --chunk-size 4 --out $(SHARDS)

train: $(STAMP) ## Train the tiny SEAGULL config, stage 1, on ./shards
	$(BIN)/seagull train --config tiny --stage 1 --shards '$(SHARDS)/seagull100w-*.tar' --out $(RUNS)/tiny-stage1

evaluate: $(STAMP) ## Evaluate the tiny run as the paper does (JSON + Markdown tables)
	$(BIN)/seagull evaluate --run $(RUNS)/tiny-stage1 --shards '$(SHARDS)/seagull100w-*.tar' --out $(RUNS)/tiny-stage1/eval $(if $(EVAL_LIMIT),--limit $(EVAL_LIMIT))

bench: $(STAMP) ## Run the benchmarks; JSON lands in bench/results/
	@mkdir -p bench/results
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f --out bench/results || exit 1; done

serve: $(STAMP) ## Start a local Prefect server (SQLite) and serve the build-100w deployment
	$(BIN)/seagull serve

lint: $(STAMP) ## Lint and check formatting with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Format with ruff
	$(BIN)/ruff format .

clean: ## Remove build outputs (keeps .venv)
	rm -rf $(SHARDS) $(RUNS) bench/results .pytest_cache
