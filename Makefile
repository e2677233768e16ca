# webseed-agent: build, test, benchmark, demo and install.
# The source list is the agent/ tree itself: every agent/**/*.cc is part of the program,
# every *_test.cc is a unit test (one Catch2 binary).
#
#   make            build build/webseed-agent
#   make check      unit + integration tests, then again under ASan+UBSan (installs deps)
#   make interop    the three-client interop matrix (docs/interop.md; part of make check)
#   make demo       build a demo mirror under build/demo and run the agent on it
#   make bench      benchmarks (tables, not pass/fail)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make install    PREFIX=/usr/local DESTDIR=
#   make format / make lint

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man/man1
DOCDIR = $(PREFIX)/share/doc/webseed-agent
SYSCONFDIR ?= /etc
HOOKDIR = $(PREFIX)/share/webseed-agent/hooks
UNITDIR = $(PREFIX)/share/webseed-agent/systemd
PYTHON ?= /usr/bin/python3

CXX ?= g++
CXXSTD = -std=c++23
WARNINGS = -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wformat=2
CPPFLAGS_AGENT = -Iagent -DWEBSEED_AGENT_VERSION='"$(VERSION)"' -D_FILE_OFFSET_BITS=64
OPTFLAGS ?= -O2 -g
JOBS ?= $(shell nproc)
LIBS = -lyaml-cpp -lcrypto -lsqlite3 -lcurl -lboost_filesystem -pthread

BUILD = build
# `make V=1` shows the compiler command lines.
Q = $(if $(V),,@echo "  CXX $<";)
ASAN_BUILD = build/asan
# GCC 12 gives false -Wmaybe-uninitialized warnings in libstdc++ (std::regex via Catch2)
# under the sanitizers at -O1: that one warning is off in the sanitizer build only.
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -Wno-maybe-uninitialized

# agent/fuzz/ holds libFuzzer targets, built by tests/fuzz/run-fuzz with clang.
ALL_SRCS := $(sort $(filter-out agent/fuzz/%,$(wildcard agent/*.cc agent/*/*.cc)))
TEST_SRCS := $(filter %_test.cc,$(ALL_SRCS)) agent/test_main.cc
MAIN_SRC := agent/main.cc
LIB_SRCS := $(filter-out %_test.cc $(MAIN_SRC) agent/test_main.cc,$(ALL_SRCS))

objs = $(patsubst agent/%.cc,$(1)/obj/%.o,$(2))

# The central collector (contrib/collector/, issue 7) shares the agent's library code.
COLLECTOR_ALL := $(sort $(wildcard contrib/collector/*.cc))
COLLECTOR_TESTS := $(filter %_test.cc,$(COLLECTOR_ALL))
COLLECTOR_MAIN := contrib/collector/main.cc
COLLECTOR_LIB := $(filter-out %_test.cc $(COLLECTOR_MAIN),$(COLLECTOR_ALL))
cobjs = $(patsubst contrib/collector/%.cc,$(1)/obj/collector/%.o,$(2))
COLLECTOR_LIBS = $(LIBS) -lssl
CPPFLAGS_COLLECTOR = $(CPPFLAGS_AGENT) -Icontrib/collector -I$(BUILD)/gen

.PHONY: all check unit integration interop demo bench install uninstall clean deps deps-test format lint asan fuzz
all: $(BUILD)/webseed-agent $(BUILD)/webseed-collector

deps:
	@contrib/install-deps build

deps-test:
	@contrib/install-deps build test fuzz

# ---- normal build ----
$(BUILD)/obj/%.o: agent/%.cc | deps-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(OPTFLAGS) $(WARNINGS) $(CPPFLAGS_AGENT) -MMD -MP -c $< -o $@

$(BUILD)/webseed-agent: $(call objs,$(BUILD),$(LIB_SRCS) $(MAIN_SRC))
	$(CXX) $(OPTFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit-tests: $(call objs,$(BUILD),$(LIB_SRCS) $(TEST_SRCS)) $(call cobjs,$(BUILD),$(COLLECTOR_LIB) $(COLLECTOR_TESTS))
	$(CXX) $(OPTFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

# The report schema, compiled into the collector (a raw string literal).
$(BUILD)/gen/report_schema.inc: docs/report.schema.json
	@mkdir -p $(dir $@)
	@{ printf 'R"SCHEMA('; cat $<; printf ')SCHEMA"\n'; } > $@

$(BUILD)/obj/collector/%.o: contrib/collector/%.cc $(BUILD)/gen/report_schema.inc | deps-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(OPTFLAGS) $(WARNINGS) $(CPPFLAGS_COLLECTOR) -MMD -MP -c $< -o $@

$(BUILD)/webseed-collector: $(call objs,$(BUILD),$(LIB_SRCS)) $(call cobjs,$(BUILD),$(COLLECTOR_LIB) $(COLLECTOR_MAIN))
	$(CXX) $(OPTFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

# `make bench`: parse_torrent timed in-process (tests/bench/torrent_parse_bench.py).
$(BUILD)/obj/bench/%.o: tests/bench/%.cc | deps-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(OPTFLAGS) $(WARNINGS) $(CPPFLAGS_AGENT) -MMD -MP -c $< -o $@

$(BUILD)/torrent-parse-timer: $(BUILD)/obj/bench/torrent_parse_timer.o $(call objs,$(BUILD),$(LIB_SRCS))
	$(CXX) $(OPTFLAGS) -o $@ $^ $(LIBS)

# ---- ASan + UBSan build ----
$(ASAN_BUILD)/obj/%.o: agent/%.cc | deps-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(SANFLAGS) $(WARNINGS) $(CPPFLAGS_AGENT) -MMD -MP -c $< -o $@

$(ASAN_BUILD)/webseed-agent: $(call objs,$(ASAN_BUILD),$(LIB_SRCS) $(MAIN_SRC))
	$(CXX) $(SANFLAGS) -o $@ $^ $(LIBS)

$(ASAN_BUILD)/unit-tests: $(call objs,$(ASAN_BUILD),$(LIB_SRCS) $(TEST_SRCS)) $(call cobjs,$(ASAN_BUILD),$(COLLECTOR_LIB) $(COLLECTOR_TESTS))
	$(CXX) $(SANFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

$(ASAN_BUILD)/obj/collector/%.o: contrib/collector/%.cc $(BUILD)/gen/report_schema.inc | deps-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(SANFLAGS) $(WARNINGS) $(CPPFLAGS_COLLECTOR) -MMD -MP -c $< -o $@

$(ASAN_BUILD)/webseed-collector: $(call objs,$(ASAN_BUILD),$(LIB_SRCS)) $(call cobjs,$(ASAN_BUILD),$(COLLECTOR_LIB) $(COLLECTOR_MAIN))
	$(CXX) $(SANFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

asan: $(ASAN_BUILD)/webseed-agent $(ASAN_BUILD)/unit-tests $(ASAN_BUILD)/webseed-collector

# Installs missing build packages once before the first compile (order-only prerequisite).
.PHONY: deps-stamp
deps-stamp:
	@contrib/install-deps build

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/*/*.d $(ASAN_BUILD)/obj/*.d $(ASAN_BUILD)/obj/*/*.d)

# ---- tests ----
check: deps-test
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/webseed-agent $(BUILD)/webseed-collector $(BUILD)/unit-tests
	@$(MAKE) --no-print-directory -j$(JOBS) asan
	@PYTHON=$(PYTHON) FUZZ_CHECK_SECONDS=$(FUZZ_CHECK_SECONDS) $(PYTHON) tests/run-all

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

integration: $(BUILD)/webseed-agent
	$(PYTHON) tests/run_integration.py --agent $(BUILD)/webseed-agent

# The agent's verdicts against libtorrent, aria2c and Transmission on real servers
# (tests/interop/); regenerates docs/interop.md. `make check` runs it too (writing build/interop.md).
interop: $(BUILD)/webseed-agent
	@contrib/install-deps build test
	@$(PYTHON) tests/interop/run-interop --agent $(BUILD)/webseed-agent --doc docs/interop.md

# ---- demo and benchmarks ----
demo: deps-test $(BUILD)/webseed-agent $(BUILD)/webseed-collector
	@$(PYTHON) contrib/demo/run-demo --agent $(BUILD)/webseed-agent --dir $(BUILD)/demo

bench: $(BUILD)/webseed-agent $(BUILD)/webseed-collector $(BUILD)/torrent-parse-timer
	@contrib/install-deps build bench
	@$(PYTHON) tests/bench/links_bench.py --agent $(BUILD)/webseed-agent
	@$(PYTHON) tests/bench/torrent_parse_bench.py --agent $(BUILD)/webseed-agent --timer $(BUILD)/torrent-parse-timer
	@$(PYTHON) tests/bench/check_bench.py --agent $(BUILD)/webseed-agent
	@$(PYTHON) tests/bench/cache_bench.py --agent $(BUILD)/webseed-agent
	@$(PYTHON) tests/bench/collector_bench.py --collector $(BUILD)/webseed-collector --agent $(BUILD)/webseed-agent

# ---- fuzzing: libFuzzer targets in agent/fuzz/, clang 16 (tests/fuzz/README.md) ----
# `make check` runs each target for FUZZ_CHECK_SECONDS (tests/run-all); `make fuzz` for longer.
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 20

fuzz:
	@contrib/install-deps build fuzz
	@$(PYTHON) tests/fuzz/run-fuzz --seconds $(FUZZ_SECONDS)

# ---- install ----
install: $(BUILD)/webseed-agent $(BUILD)/webseed-collector
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/webseed-agent
	install -m 0755 $(BUILD)/webseed-agent $(DESTDIR)$(BINDIR)/webseed-agent
	install -m 0755 $(BUILD)/webseed-collector $(DESTDIR)$(BINDIR)/webseed-collector
	install -m 0644 contrib/collector/README.md $(DESTDIR)$(DOCDIR)/collector.md
	install -m 0644 contrib/collector/collector.yaml $(DESTDIR)$(DOCDIR)/collector.yaml.sample
	install -m 0644 docs/webseed-agent.1 $(DESTDIR)$(MANDIR)/webseed-agent.1
	install -m 0644 README.md docs/*.md docs/*.json $(DESTDIR)$(DOCDIR)/
	install -m 0644 conf/agent.yaml $(DESTDIR)$(DOCDIR)/agent.yaml.sample
	install -d $(DESTDIR)$(HOOKDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 hooks/webseed-rsync hooks/ftpsync-hook $(DESTDIR)$(HOOKDIR)/
	install -m 0644 hooks/README.md $(DESTDIR)$(DOCDIR)/hooks.md
	install -m 0644 contrib/systemd/README.md $(DESTDIR)$(DOCDIR)/systemd.md
	sed 's|/usr/local/bin/|$(BINDIR)/|' contrib/systemd/webseed-agent.service > $(DESTDIR)$(UNITDIR)/webseed-agent.service
	install -m 0644 contrib/systemd/webseed-agent.timer $(DESTDIR)$(UNITDIR)/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/webseed-agent/agent.yaml ]; then \
	  echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/webseed-agent/agent.yaml"; \
	else \
	  install -m 0644 conf/agent.yaml $(DESTDIR)$(SYSCONFDIR)/webseed-agent/agent.yaml; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/webseed-agent $(DESTDIR)$(BINDIR)/webseed-collector $(DESTDIR)$(MANDIR)/webseed-agent.1
	rm -rf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PREFIX)/share/webseed-agent

# ---- housekeeping ----
format:
	clang-format -i $(ALL_SRCS) $(wildcard agent/*.h agent/*/*.h contrib/collector/*.cc contrib/collector/*.h)

lint: $(BUILD)/webseed-agent
	cppcheck --quiet --enable=warning,performance,portability --std=c++20 --inline-suppr \
	  --error-exitcode=1 -Iagent $(ALL_SRCS)

clean:
	rm -rf $(BUILD)
