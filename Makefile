# Entry points on a fresh Debian machine with Python 3.11 (as root, or with sudo):
#   make demo   installs what is needed, then runs the demo gateway (simulated PLCs, broker, web UI)
#   make test   installs what is needed, then runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := mosquitto mosquitto-clients git
# building the app package: Debian roots (mmdebstrap), the target's programs run under qemu-user,
# and binutils that strip the target's binaries
PACKAGE_APT_PACKAGES := mmdebstrap qemu-user-static binfmt-support arch-test \
	binutils-arm-linux-gnueabihf binutils-aarch64-linux-gnu binutils-x86-64-linux-gnu
TEST_APT_PACKAGES := chromium $(PACKAGE_APT_PACKAGES)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench package setup system-packages lint clean

demo: setup
	$(BIN)/gateway demo -c config.yaml $(DEMO_ARGS)

test: setup
	$(MAKE) system-packages APT_PACKAGES="$(TEST_APT_PACKAGES)"
	mkdir -p test-artifacts/coverage
	$(BIN)/python -m pytest --cov --cov-report=html $(PYTEST_ARGS)
	@echo "coverage of gateway/ and plugins/ by the tests: $$($(BIN)/coverage report --format=total)% \
	(per file: test-artifacts/coverage/index.html)"

bench: setup
	$(BIN)/python -m tests.bench.bench_southbound
	$(BIN)/python -m tests.bench.bench_services
	$(BIN)/python -m tests.bench.bench_iotgo
	$(BIN)/python -m tests.bench.bench_outbox
	$(BIN)/python -m tests.bench.bench_scripts
	$(BIN)/python -m tests.bench.bench_history
	$(BIN)/python -m tests.bench.bench_end_to_end $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE))

package: setup
	$(MAKE) system-packages APT_PACKAGES="$(PACKAGE_APT_PACKAGES)"
	$(BIN)/python packaging/build_app.py --arch $(or $(ARCH),$(shell uname -m))

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

setup: system-packages $(VENV)/.installed

system-packages:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=300 install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,package]'
	touch $@

clean:
	rm -rf $(VENV) state .pytest_cache build dist
