# r1.cpp — the two commands a newcomer needs:
#   make demo   install what is missing, build, run the main job
#   make test   install what is missing, build, run every test
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps build test demo bench clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 1 --timeout 1200

demo: build
	$(BUILD)/bin/r1 demo

bench: build
	/usr/bin/python3 scripts/bench_train.py

clean:
	rm -rf $(BUILD)
