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
#   make deb        build/webseed-agent_VERSION_ARCH.deb and build/webseed-collector_..._ARCH.deb
#                   (dpkg-deb; contrib/debian/)
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
COLLECTOR_DOCDIR = $(PREFIX)/share/doc/webseed-collector
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
# On Debian the defaults are dpkg-buildflags' (hardening: stack protector, _FORTIFY_SOURCE,
# relro, bindnow), so `make deb` packages the binaries `make` built; elsewhere -O2 -g.
# OPTFLAGS: the old name of CXXFLAGS' default, still honoured.
DPKG_BUILDFLAGS := $(shell command -v dpkg-buildflags 2>/dev/null)
# No -ffile-prefix-map: the checkout's path may hold a space (one make word per flag).
buildflag = $(if $(DPKG_BUILDFLAGS),$(shell DEB_BUILD_MAINT_OPTIONS="hardening=+all reproducible=-fixfilepath,-fixdebugpath" dpkg-buildflags --get $(1)),$(2))
# Each asked once (`:=`): dpkg-buildflags is a Perl program.
OPTFLAGS ?=
ifeq ($(origin CXXFLAGS),undefined)
CXXFLAGS := $(or $(OPTFLAGS),$(call buildflag,CXXFLAGS,-O2 -g))
endif
ifeq ($(origin CPPFLAGS),undefined)
CPPFLAGS := $(call buildflag,CPPFLAGS,)
endif
ifeq ($(origin LDFLAGS),undefined)
LDFLAGS := $(call buildflag,LDFLAGS,)
endif
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
# -g1: line tables only (what the sanitizers' stack traces print), ~20% less compile time
# than -g for this template-heavy code.
SANFLAGS = -O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -Wno-maybe-uninitialized

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
CPPFLAGS_COLLECTOR = -Icontrib/collector -I$(BUILD)/gen

.PHONY: all check unit integration interop demo bench install uninstall deb clean deps deps-test format lint asan fuzz
all: $(BUILD)/webseed-agent $(BUILD)/webseed-collector

deps:
	@contrib/install-deps build

deps-test:
	@contrib/install-deps build test fuzz

# ---- the builds: normal (build/) and ASan+UBSan (build/asan/), one set of rules ----
# libwebseed.a is the core both programs link: a static archive, so each program takes only
# the objects it uses (the collector: torrent model, probe, findings, util; not the agent's
# commands). DIR/flags records the compiler and flags: objects are rebuilt when they change.
NORMAL_CXX = $(CXXSTD) $(WARNINGS) $(CPPFLAGS_AGENT) $(PC_CFLAGS) $(CPPFLAGS) $(CXXFLAGS)
NORMAL_LD = $(CXXFLAGS) $(LDFLAGS)
SAN_CXX = $(CXXSTD) $(SANFLAGS) $(WARNINGS) $(CPPFLAGS_AGENT) $(PC_CFLAGS)
SAN_LD = $(SANFLAGS)
AR ?= ar

# The text of DIR/flags (-Werror left out: it changes no object) and the shell quoting of it.
flags_text = $(CXX) $(filter-out -Werror,$($(1))) | $($(2))
shq = '$(subst ','\'',$(1))'

# $(call build_rules,DIR,COMPILE_FLAGS_VAR,LINK_FLAGS_VAR)
define build_rules
$(1)/flags: FORCE
	@mkdir -p $(1)
	@printf '%s\n' $$(call shq,$$(call flags_text,$(2),$(3))) | cmp -s - $$@ || \
	  printf '%s\n' $$(call shq,$$(call flags_text,$(2),$(3))) > $$@

$(1)/obj/%.o: agent/%.cc $(1)/flags
	@mkdir -p $$(dir $$@)
	$$(Q)$$(CXX) $$($(2)) -MMD -MP -c $$< -o $$@

$(1)/obj/collector/%.o: contrib/collector/%.cc $(BUILD)/gen/report_schema.inc $(1)/flags
	@mkdir -p $$(dir $$@)
	$$(Q)$$(CXX) $$($(2)) $$(CPPFLAGS_COLLECTOR) -MMD -MP -c $$< -o $$@

$(1)/libwebseed.a: $(call objs,$(1),$(LIB_SRCS))
	@rm -f $$@
	@$$(AR) rcs $$@ $$^

$(1)/webseed-agent: $(call objs,$(1),$(MAIN_SRC)) $(1)/libwebseed.a
	$$(CXX) $$($(3)) -o $$@ $$^ $$(LIBS)

$(1)/webseed-collector: $(call cobjs,$(1),$(COLLECTOR_LIB) $(COLLECTOR_MAIN)) $(1)/libwebseed.a
	$$(CXX) $$($(3)) -o $$@ $$^ $$(COLLECTOR_LIBS)

$(1)/unit-tests: $(call objs,$(1),$(TEST_SRCS)) $(call cobjs,$(1),$(COLLECTOR_LIB) $(COLLECTOR_TESTS)) $(1)/libwebseed.a
	$$(CXX) $$($(3)) -o $$@ $$^ $$(COLLECTOR_LIBS)
endef

.PHONY: FORCE
FORCE:
$(eval $(call build_rules,$(BUILD),NORMAL_CXX,NORMAL_LD))
$(eval $(call build_rules,$(ASAN_BUILD),SAN_CXX,SAN_LD))

# The report schema, compiled into the collector (a raw string literal).
$(BUILD)/gen/report_schema.inc: docs/report.schema.json
	@mkdir -p $(dir $@)
	@{ printf 'R"SCHEMA('; cat $<; printf ')SCHEMA"\n'; } > $@

# `make bench`: parse_torrent timed in-process (tests/bench/torrent_parse_bench.py).
$(BUILD)/obj/bench/%.o: tests/bench/%.cc $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(NORMAL_CXX) -MMD -MP -c $< -o $@

$(BUILD)/torrent-parse-timer: $(BUILD)/obj/bench/torrent_parse_timer.o $(BUILD)/libwebseed.a
	$(CXX) $(NORMAL_LD) -o $@ $^ $(LIBS)

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
FUZZ_CHECK_SECONDS ?= 10

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
	install -d "$(DESTDIR)$(COLLECTOR_DOCDIR)"
	install -m 0644 contrib/collector/README.md "$(DESTDIR)$(COLLECTOR_DOCDIR)/collector.md"
	install -m 0644 contrib/collector/collector.yaml "$(DESTDIR)$(COLLECTOR_DOCDIR)/collector.yaml.sample"
	for m in webseed-agent webseed-collector; do \
	  sed -e 's|/usr/share/doc/webseed-agent/|$(DOCDIR)/|g' \
	      -e 's|/usr/share/doc/webseed-collector/|$(COLLECTOR_DOCDIR)/|g' docs/$$m.1 > "$(DESTDIR)$(MANDIR)/$$m.1" || exit 1; \
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

# ---- Debian packages: build/webseed-{agent,collector}_VERSION_ARCH.deb (contrib/debian/) ----
deb: $(BUILD)/webseed-agent $(BUILD)/webseed-collector
	@MAKE="$(MAKE)" contrib/debian/build-deb $(VERSION) $(BUILD)

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/webseed-agent" "$(DESTDIR)$(BINDIR)/webseed-collector" "$(DESTDIR)$(MANDIR)/webseed-agent.1" "$(DESTDIR)$(MANDIR)/webseed-collector.1"
	rm -rf "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(COLLECTOR_DOCDIR)" "$(DESTDIR)$(PREFIX)/share/webseed-agent"

# ---- housekeeping ----
format:
	clang-format -i $(ALL_SRCS) $(wildcard agent/*.h agent/*/*.h contrib/collector/*.cc contrib/collector/*.h)

# cppcheck over both programs (agent/ and contrib/collector/), every file, in parallel.
lint: $(BUILD)/gen/report_schema.inc
	cppcheck --quiet --enable=warning,performance,portability --std=c++20 --inline-suppr \
	  --error-exitcode=1 -j$(JOBS) -Iagent -Icontrib/collector -I$(BUILD)/gen \
	  $(ALL_SRCS) $(COLLECTOR_ALL)

clean:
	rm -rf $(BUILD)
