# Two entry points for a fresh machine (see README):
#   make reproduce   set up the environment, then run the whole DAG on the embedded default
#   make test        set up the environment, then run the test suite
# Both are idempotent: scripts/setup_env.sh skips every step whose result is already there.
DSLA_VENV ?= $(CURDIR)/.venv
export DSLA_VENV
PYTEST_ARGS ?=

.PHONY: setup reproduce test
setup:
	@bash scripts/setup_env.sh

reproduce: setup
	$(DSLA_VENV)/bin/pipeline run reproduce-tables

test: setup
	$(DSLA_VENV)/bin/python -m pytest $(PYTEST_ARGS)
