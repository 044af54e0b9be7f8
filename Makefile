PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/qa-agent demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite waits on devices far more than it computes: three workers, one test file each at a time.
pytest: $(STAMP)
	$(BIN)/python -m pytest -q -n 3 --dist loadfile

test: lint typecheck pytest

# Runs every benchmark (about 22 minutes on a quiet 2-core machine) and rewrites BENCHMARKS.md from their output.
bench: $(STAMP)
	mkdir -p bench/out
	$(BIN)/python bench/executor_efficiency.py --reps 3 --realistic-reps 2 --floor --ablation 32 --profile 32 \
		--json bench/out/executor_efficiency.json > bench/out/executor_efficiency.md
	$(BIN)/python bench/reference_vs_agent.py --reps 3 \
		--json bench/out/reference_vs_agent.json > bench/out/reference_vs_agent.md
	$(BIN)/python bench/scale.py --sizes 10 30 50 --verbatim 10 \
		--json bench/out/scale.json > bench/out/scale.md
	$(BIN)/python bench/gherkin_corpus.py --json bench/out/gherkin_corpus.json > bench/out/gherkin_corpus.md
	$(BIN)/python bench/startup.py --reps 7 --json bench/out/startup.json > bench/out/startup.md
	$(BIN)/python bench/lab.py --tickets 100 --json bench/out/lab.json > bench/out/lab.md
	$(BIN)/python bench/real_servers.py --reps 3 --json bench/out/real_servers.json > bench/out/real_servers.md
	$(BIN)/python bench/assemble.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
