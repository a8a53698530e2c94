# Two commands for a fresh machine with Python 3.11 and pip:
#   make run    run the nightly flow once on the bundled data (prints where the curated tables are)
#   make test   run the test suite
# uv is installed with pip when it is missing; the environment comes from uv.lock.

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_PYTHON_DOWNLOADS := never
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: run test install

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.9"
	@$(UV) sync --frozen --quiet

run: install
	$(UV) run pledgeflow run

test: install
	$(UV) run pytest
