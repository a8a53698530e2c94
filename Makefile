# Two commands for a fresh machine with Python 3.11 and pip:
#   make run    run the nightly flow once on the bundled data (prints where the curated tables are)
#   make test   run the test suite
# uv is installed with pip when it is missing; the environment comes from uv.lock.
# Each slow step says what it is doing first: a silent minute looks like a hang.

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_PYTHON_DOWNLOADS := never
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: run test install test-tools

install:
	@$(UV) --version >/dev/null 2>&1 || { echo "make: installing uv with pip …"; python3 -m pip install --quiet "uv>=0.9"; }
	@echo "make: installing the locked environment (uv sync --frozen; the first time takes about a minute) …"
	@$(UV) sync --frozen --quiet
	@echo "make: environment ready."

run: install
	@echo "make: running the nightly flow once (pledgeflow run); it starts a temporary Prefect server first (10-40 s) …"
	$(UV) run pledgeflow run

# What some tests drive besides Python: headless Chromium and CJK fonts (the pledge report's browser tests) and
# faketime (determinism across days), installed from Debian's packages when missing.

test-tools:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium fonts-noto-cjk"; \
	command -v faketime >/dev/null 2>&1 || missing="$$missing faketime"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing test tools from Debian's packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  ($$SUDO apt-get install -y --no-install-recommends $$missing >/dev/null 2>&1 || \
	   ($$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y --no-install-recommends $$missing >/dev/null)) || \
	  { echo "Could not install$$missing: install them with your package manager, then run make test again."; exit 1; }; \
	fi

test: install test-tools
	@echo "make: running the test suite (pytest) …"
	$(UV) run pytest -n 2
