# SEAGULL — every target bootstraps its own virtual environment, so a fresh machine needs only
# `make shards` or `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SHARDS  ?= shards
RUNS    ?= runs
SAMPLE  ?= 8
SG3K    ?= sg3k
# Label Studio lives in its own venv: its Django pins conflict with the project's (docs/seagull-3k.md).
LS_VENV  := .venv-ls
LS_STAMP := $(LS_VENV)/.installed
# ROIs `make evaluate` scores, drawn evenly across the held-out (test split) images, types and levels;
# EVAL_LIMIT= (empty) scores every labelled ROI of the test split.
EVAL_LIMIT ?= 2000

.DEFAULT_GOAL := help
.PHONY: help setup test test-fast shards train evaluate bench serve demo lint format clean sg3k finetune evaluate-3k label-studio

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt requirements-demo.txt
	$(PY) -m venv $(VENV)
	# torch first, pinned: an unpinned torch would pull a multi-GB build from the registry.
	$(BIN)/pip install -q -c constraints.txt torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -c constraints.txt -e '.[build,model,dev]'
	# gradio without its declared pillow<13 (see requirements-demo.txt).
	$(BIN)/pip install -q --no-deps -r requirements-demo.txt
	touch $@

setup: $(STAMP) ## Create .venv and install the pinned dependencies

$(LS_STAMP):
	$(PY) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install -q -c constraints-ls.txt label-studio==1.23.2 label-studio-sdk==2.1.2
	touch $@

label-studio: $(LS_STAMP) ## Install Label Studio 1.23.2 (+ label-studio-sdk 2.1.2) into .venv-ls

test: $(STAMP) $(LS_STAMP) ## Run the whole test suite (slow end-to-end tests included)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## Run the tests without the slow end-to-end ones
	$(BIN)/python -m pytest -q -m "not slow"

shards: $(STAMP) ## Build SEAGULL-100w shards from the embedded RAW sample into ./shards
	$(BIN)/seagull build --sample $(SAMPLE) --chunk-size 4 --out $(SHARDS)

train: $(STAMP) ## Train the tiny SEAGULL config, stage 1, on ./shards
	$(BIN)/seagull train --config tiny --stage 1 --shards '$(SHARDS)/seagull100w-*.tar' --out $(RUNS)/tiny-stage1

evaluate: $(STAMP) ## Evaluate the tiny run as the paper does (JSON + Markdown tables)
	$(BIN)/seagull evaluate --run $(RUNS)/tiny-stage1 --shards '$(SHARDS)/seagull100w-*.tar' --out $(RUNS)/tiny-stage1/eval $(if $(EVAL_LIMIT),--limit $(EVAL_LIMIT))

sg3k: $(STAMP) ## SEAGULL-3k demo: embedded images, 7 SIMULATED annotators, shards in ./sg3k/shards
	$(BIN)/seagull 3k build --demo --simulate 7 --build $(SG3K)

finetune: $(STAMP) ## Tiny stage 2 from the stage-1 run (make train) on the SEAGULL-3k train split (make sg3k)
	$(BIN)/seagull train --config tiny --stage 2 --shards '$(SG3K)/shards/seagull3k-train-*.tar' --out $(RUNS)/tiny-stage2 --init-from $(RUNS)/tiny-stage1/trainable.pt

evaluate-3k: $(STAMP) ## Evaluate the fine-tuned run on the SEAGULL-3k test split (Tables 1-2 layout)
	$(BIN)/seagull evaluate --run $(RUNS)/tiny-stage2 --shards '$(SG3K)/shards/seagull3k-test-*.tar' --out $(RUNS)/tiny-stage2/eval-3k

bench: $(STAMP) ## Run the benchmarks; JSON lands in bench/results/
	@mkdir -p bench/results
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f --out bench/results || exit 1; done

serve: $(STAMP) ## Start a local Prefect server (SQLite) and serve the build-100w deployment
	$(BIN)/seagull serve

demo: $(STAMP) ## Serve the click-to-assess page on http://127.0.0.1:7860 (the tiny run, examples from ./shards)
	$(BIN)/seagull demo --run $(RUNS)/tiny-stage1 --examples $(SHARDS)

lint: $(STAMP) ## Lint and check formatting with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Format with ruff
	$(BIN)/ruff format .

clean: ## Remove build outputs (keeps .venv and .venv-ls)
	rm -rf $(SHARDS) $(SHARDS).seagull-build $(SG3K) $(RUNS) bench/results .pytest_cache
