# The two commands of the README: `make demo` and `make test`. Each sets itself up
# on a fresh machine with only Python 3.11+: a local .venv with pinned dependencies.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# TF=cpu installs tensorflow-cpu; TF=gpu installs tensorflow[and-cuda].
TF ?= cpu
CORES ?= all
# Two test processes (pytest-xdist), each test module in one: the workflow tests wait on
# single-threaded Snakemake and TensorFlow start-up much of the time.
PYTEST_ARGS ?= -n 2 --dist loadfile
BENCH_ARGS ?=

.PHONY: demo test bench bench-quality lint install clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-$(TF): $(BIN)/activate pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[$(TF),download,slurm,dev]"
	touch $@

install: $(VENV)/.installed-$(TF)

demo: install
	$(BIN)/snakemake --cores $(CORES)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Writes BENCHMARKS.md and bench/results.json (hours on 2 cores: the quality item trains 4 contenders
# for 300, 600 and 1,800 s at 64, 128 and 256 px); BENCH_ARGS=--quick: a smoke run.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# Only the restoration-quality item, merged into the existing results; needs ../shared/data/faces-dev.
# Part of it: BENCH_ARGS="--sizes 256 --contenders gan,origin" (the contenders not named stay).
bench-quality: install
	$(BIN)/python -m bench --only quality --merge $(BENCH_ARGS)

lint: install
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check restorebench scripts tests viewer bench
	$(BIN)/ruff format --check restorebench scripts tests viewer bench
	$(BIN)/lint-imports

clean:
	rm -rf results .snakemake logs benchmarks
