# Two commands: `make run` (the Gradio chat) and `make test` (the test suite). Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup index clean eval bench

run: $(STAMP)
	$(PY) app.py

test: $(STAMP)
	$(PY) -m pytest -q

setup: $(STAMP)

# Reinstall only when the project definition changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-gigabyte CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

index: $(STAMP)
	$(VENV)/bin/trialqa index

# The gold corpus: the two seeds plus tests/fixtures/trials, assembled under build/.
eval: $(STAMP)
	$(PY) -c "from trialqa.evaluation.qa import build_gold_corpus; build_gold_corpus('build/gold_corpus')"
	$(VENV)/bin/trialqa eval tests/gold/qa.jsonl --corpus build/gold_corpus --report docs/eval

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) indexes/*/ .pytest_cache
