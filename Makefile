# Two entry points for a new user (see README.md):
#   make run    set everything up, then run the default pipeline (simulated data, every figure)
#   make test   set everything up, then run the test suite
CORES ?= $(shell nproc)
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup run test lint clean

setup:
	./scripts/setup.sh

run: setup
	snakemake --cores $(CORES)

test: setup
	pytest

lint: setup
	ruff check src tests workflow/scripts benchmarks
	snakefmt --check workflow
	snakemake --lint

clean:
	rm -rf results resources logs .snakemake
