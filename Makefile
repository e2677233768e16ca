# webseed-agent: build, test, benchmark, demo and install.
# The source list is the agent/ tree itself: every agent/**/*.cc is part of the program,
# every *_test.cc is a unit test (one Catch2 binary).
#
#   make            build build/webseed-agent and build/webseed-collector (only builds: no
#                   package is installed; `make deps` installs the Debian build dependencies)
#   make check      unit + integration tests, then again under ASan+UBSan (installs deps;
#                   builds with WERROR=1)
#   make interop    the three-client interop matrix (docs/interop.md; part of make check)
#   make demo       build a demo mirror under build/demo and run the agent on it
#   make bench      benchmarks (tables, not pass/fail)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make deb        build/webseed-agent_VERSION_ARCH.deb (dpkg-deb; contrib/debian/)
#   make install    PREFIX=/usr/local DESTDIR= (stripped binaries; NOSTRIP=1 keeps the symbols)
#
# Packagers: CPPFLAGS, CXXFLAGS (default -O2 -g) and LDFLAGS are honoured; warnings are errors
# only with WERROR=1 (`make check` and CI set it); parallel by default (JOBS, default nproc);
# libraries through pkg-config (PKG_CONFIG) where a .pc exists.
#   make format / make lint

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man/man1
DOCDIR = $(PREFIX)/share/doc/webseed-agent
SYSCONFDIR ?= /etc
HOOKDIR = $(PREFIX)/share/webseed-agent/hooks
UNITDIR ?= $(PREFIX)/share/webseed-agent/systemd
PYTHON ?= /usr/bin/python3

CXX ?= g++
CXXSTD = -std=c++23
WARNINGS = -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wformat=2
WERROR ?=
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
CPPFLAGS_AGENT = -Iagent -DWEBSEED_AGENT_VERSION='"$(VERSION)"' -D_FILE_OFFSET_BITS=64
# OPTFLAGS: the old name of CXXFLAGS' default, still honoured.
OPTFLAGS ?= -O2 -g
CXXFLAGS ?= $(OPTFLAGS)
CPPFLAGS ?=
LDFLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
# Parallel unless the command line says otherwise (-jN or -j1).
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(JOBS)
endif
PKG_CONFIG ?= pkg-config
PC_MODULES = yaml-cpp libcrypto sqlite3 libcurl
# pkg-config's answer, or the plain -l flags where pkg-config (or a .pc) is missing.
pc_libs = $(or $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null),$(2))
pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
PC_CFLAGS := $(call pc_cflags,$(PC_MODULES) libssl)
# Boost.Filesystem has no .pc file.
LIBS := $(call pc_libs,$(PC_MODULES),-lyaml-cpp -lcrypto -lsqlite3 -lcurl) -lboost_filesystem -pthread

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
COLLECTOR_LIBS = $(call pc_libs,libssl,-lssl) $(LIBS)
CPPFLAGS_COLLECTOR = $(CPPFLAGS_AGENT) -Icontrib/collector -I$(BUILD)/gen

.PHONY: all check unit integration interop demo bench install uninstall deb clean deps deps-test format lint asan fuzz
all: $(BUILD)/webseed-agent $(BUILD)/webseed-collector

deps:
	@contrib/install-deps build

deps-test:
	@contrib/install-deps build test fuzz

# ---- normal build ----
$(BUILD)/obj/%.o: agent/%.cc
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(WARNINGS) $(CPPFLAGS_AGENT) $(PC_CFLAGS) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/webseed-agent: $(call objs,$(BUILD),$(LIB_SRCS) $(MAIN_SRC))
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit-tests: $(call objs,$(BUILD),$(LIB_SRCS) $(TEST_SRCS)) $(call cobjs,$(BUILD),$(COLLECTOR_LIB) $(COLLECTOR_TESTS))
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

# The report schema, compiled into the collector (a raw string literal).
$(BUILD)/gen/report_schema.inc: docs/report.schema.json
	@mkdir -p $(dir $@)
	@{ printf 'R"SCHEMA('; cat $<; printf ')SCHEMA"\n'; } > $@

$(BUILD)/obj/collector/%.o: contrib/collector/%.cc $(BUILD)/gen/report_schema.inc
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(WARNINGS) $(CPPFLAGS_COLLECTOR) $(PC_CFLAGS) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/webseed-collector: $(call objs,$(BUILD),$(LIB_SRCS)) $(call cobjs,$(BUILD),$(COLLECTOR_LIB) $(COLLECTOR_MAIN))
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

# `make bench`: parse_torrent timed in-process (tests/bench/torrent_parse_bench.py).
$(BUILD)/obj/bench/%.o: tests/bench/%.cc | deps-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(OPTFLAGS) $(WARNINGS) $(CPPFLAGS_AGENT) -MMD -MP -c $< -o $@

$(BUILD)/torrent-parse-timer: $(BUILD)/obj/bench/torrent_parse_timer.o $(call objs,$(BUILD),$(LIB_SRCS))
	$(CXX) $(OPTFLAGS) -o $@ $^ $(LIBS)

# ---- ASan + UBSan build ----
$(ASAN_BUILD)/obj/%.o: agent/%.cc
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(SANFLAGS) $(WARNINGS) $(CPPFLAGS_AGENT) $(PC_CFLAGS) -MMD -MP -c $< -o $@

$(ASAN_BUILD)/webseed-agent: $(call objs,$(ASAN_BUILD),$(LIB_SRCS) $(MAIN_SRC))
	$(CXX) $(SANFLAGS) -o $@ $^ $(LIBS)

$(ASAN_BUILD)/unit-tests: $(call objs,$(ASAN_BUILD),$(LIB_SRCS) $(TEST_SRCS)) $(call cobjs,$(ASAN_BUILD),$(COLLECTOR_LIB) $(COLLECTOR_TESTS))
	$(CXX) $(SANFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

$(ASAN_BUILD)/obj/collector/%.o: contrib/collector/%.cc $(BUILD)/gen/report_schema.inc
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXSTD) $(SANFLAGS) $(WARNINGS) $(CPPFLAGS_COLLECTOR) $(PC_CFLAGS) -MMD -MP -c $< -o $@

$(ASAN_BUILD)/webseed-collector: $(call objs,$(ASAN_BUILD),$(LIB_SRCS)) $(call cobjs,$(ASAN_BUILD),$(COLLECTOR_LIB) $(COLLECTOR_MAIN))
	$(CXX) $(SANFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

asan: $(ASAN_BUILD)/webseed-agent $(ASAN_BUILD)/unit-tests $(ASAN_BUILD)/webseed-collector

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/*/*.d $(ASAN_BUILD)/obj/*.d $(ASAN_BUILD)/obj/*/*.d)

# ---- tests ----
check: deps-test
	@$(MAKE) --no-print-directory -j$(JOBS) WERROR=$(or $(WERROR),1) $(BUILD)/webseed-agent $(BUILD)/webseed-collector $(BUILD)/unit-tests
	@$(MAKE) --no-print-directory -j$(JOBS) WERROR=$(or $(WERROR),1) asan
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
# Stripped (the build/ binaries keep their debug info); NOSTRIP=1, or DEB_BUILD_OPTIONS=nostrip,
# installs them as built. `make install-strip` is the GNU name of the same thing.
STRIP ?= strip
INSTALL_STRIP = $(if $(or $(NOSTRIP),$(findstring nostrip,$(DEB_BUILD_OPTIONS))),,-s --strip-program=$(STRIP))
.PHONY: install-strip
install-strip: install

install: $(BUILD)/webseed-agent $(BUILD)/webseed-collector
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)" "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(SYSCONFDIR)/webseed-agent"
	install -m 0755 $(INSTALL_STRIP) $(BUILD)/webseed-agent "$(DESTDIR)$(BINDIR)/webseed-agent"
	install -m 0755 $(INSTALL_STRIP) $(BUILD)/webseed-collector "$(DESTDIR)$(BINDIR)/webseed-collector"
	install -m 0644 contrib/collector/README.md "$(DESTDIR)$(DOCDIR)/collector.md"
	install -m 0644 contrib/collector/collector.yaml "$(DESTDIR)$(DOCDIR)/collector.yaml.sample"
	for m in webseed-agent webseed-collector; do \
	  sed 's|/usr/share/doc/webseed-agent/|$(DOCDIR)/|g' docs/$$m.1 > "$(DESTDIR)$(MANDIR)/$$m.1" || exit 1; \
	done
	install -m 0644 README.md docs/*.md docs/*.json "$(DESTDIR)$(DOCDIR)/"
	install -m 0644 conf/agent.yaml "$(DESTDIR)$(DOCDIR)/agent.yaml.sample"
	install -d "$(DESTDIR)$(HOOKDIR)" "$(DESTDIR)$(UNITDIR)"
	for h in webseed-rsync ftpsync-hook; do \
	  sed 's|^default_agent=webseed-agent$$|default_agent=$(BINDIR)/webseed-agent|' hooks/$$h > "$(DESTDIR)$(HOOKDIR)/$$h" && \
	  chmod 0755 "$(DESTDIR)$(HOOKDIR)/$$h" || exit 1; \
	done
	install -m 0644 hooks/README.md "$(DESTDIR)$(DOCDIR)/hooks.md"
	install -m 0644 contrib/systemd/README.md "$(DESTDIR)$(DOCDIR)/systemd.md"
	sed 's|/usr/local/bin/|$(BINDIR)/|' contrib/systemd/webseed-agent.service > "$(DESTDIR)$(UNITDIR)/webseed-agent.service"
	install -m 0644 contrib/systemd/webseed-agent.timer "$(DESTDIR)$(UNITDIR)/"
	sed 's|/usr/local/bin/|$(BINDIR)/|' contrib/systemd/webseed-collector.service > "$(DESTDIR)$(UNITDIR)/webseed-collector.service"
	install -d "$(DESTDIR)$(SYSCONFDIR)/webseed-collector"
	@if [ -e "$(DESTDIR)$(SYSCONFDIR)/webseed-collector/collector.yaml" ]; then \
	  echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/webseed-collector/collector.yaml"; \
	else \
	  install -m 0644 contrib/collector/collector.yaml "$(DESTDIR)$(SYSCONFDIR)/webseed-collector/collector.yaml"; \
	fi
	@echo "systemd units in $(UNITDIR)/ (copy or link them to /etc/systemd/system/, see $(DOCDIR)/systemd.md)"
	@if [ -e "$(DESTDIR)$(SYSCONFDIR)/webseed-agent/agent.yaml" ]; then \
	  echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/webseed-agent/agent.yaml"; \
	else \
	  install -m 0644 conf/agent.yaml "$(DESTDIR)$(SYSCONFDIR)/webseed-agent/agent.yaml"; \
	fi

# ---- Debian package: build/webseed-agent_VERSION_ARCH.deb (contrib/debian/) ----
deb: $(BUILD)/webseed-agent $(BUILD)/webseed-collector
	@MAKE="$(MAKE)" contrib/debian/build-deb $(VERSION) $(BUILD)

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/webseed-agent" "$(DESTDIR)$(BINDIR)/webseed-collector" "$(DESTDIR)$(MANDIR)/webseed-agent.1" "$(DESTDIR)$(MANDIR)/webseed-collector.1"
	rm -rf "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(PREFIX)/share/webseed-agent"

# ---- housekeeping ----
format:
	clang-format -i $(ALL_SRCS) $(wildcard agent/*.h agent/*/*.h contrib/collector/*.cc contrib/collector/*.h)

lint: $(BUILD)/webseed-agent
	cppcheck --quiet --enable=warning,performance,portability --std=c++20 --inline-suppr \
	  --error-exitcode=1 -Iagent $(ALL_SRCS)

clean:
	rm -rf $(BUILD)
