# The two commands of the README: `make demo` runs the product, `make test` the tests.
UV ?= uv
DATA ?= data/audience
export DO_NOT_TRACK = true
export MLFLOW_DISABLE_TELEMETRY = true
export BENTOML_DO_NOT_TRACK = true

.PHONY: demo setup simulate train score serve test lint fuzz

demo: setup simulate train score serve

setup:
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --frozen

simulate:
	$(UV) run leadscore simulate --out $(DATA)

train:
	$(UV) run leadscore train --data $(DATA)

score:
	$(UV) run leadscore score --data $(DATA) --out data/scores.csv --top 10

serve:
	$(UV) run leadscore serve --host 127.0.0.1 --port 3000

test: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports
	$(UV) run pytest

# schemathesis over every route of the served spec, with a key: an events and a table model.
fuzz: setup
	$(UV) run python benchmarks/fuzz_service.py
	$(UV) run python benchmarks/fuzz_service.py --table

lint:
	$(UV) run ruff check --fix .
	$(UV) run ruff format .
