# ezk - see README.md. `make` builds ./ezk; `make test` installs what is
# missing (scripts/install-deps.sh), builds and runs every test; `make check`
# runs the same tests on a build with AddressSanitizer and UBSan.

PREFIX ?= /usr/local
CC ?= cc
PKGS = libssh yaml-0.1 lua5.4 libgit2 libarchive libcrypto libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Icore -Issh \
	-DEZK_VERSION='"$(VERSION)"' -DEZK_PREFIX='"$(PREFIX)"'
LIBS = $(PKG_LIBS) -lpthread -lm

# B is the build directory; `make check` uses another one.
B ?= build
SRCS := $(filter-out core/main.c,$(wildcard core/*.c core/tmpl/*.c ssh/*.c))
OBJS := $(SRCS:%.c=$(B)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
EZK := $(if $(filter build,$(B)),ezk,$(B)/ezk)

.PHONY: all test check fuzz bench demo install clean deps units format kubernetes
all: $(EZK)

$(B)/%.o: %.c $(wildcard core/*.h core/tmpl/*.h ssh/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libezk.a: $(OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(EZK): $(B)/core/main.o $(B)/libezk.a
	@echo "  LINK    $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libezk.a tests/unit/tap.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(B)/libezk.a $(LIBS)

# Small programs the CLI tests use (tests/tools/*.c).
TOOL_BINS := $(patsubst tests/tools/%.c,$(B)/tools/%,$(wildcard tests/tools/*.c))
$(B)/tools/%: tests/tools/%.c $(B)/libezk.a
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libezk.a $(LIBS)

units: $(UNIT_BINS) $(TOOL_BINS)

deps:
	@scripts/install-deps.sh

# The test bed's Kubernetes binaries, built from Debian's source once per
# machine and cached (scripts/build-kubernetes.sh; README: "Kubernetes from
# Debian's source"). Tests that need them skip, saying why, when they could
# not be built (or without root). The second build (the first's binaries
# with another build date stamped in: scripts/rebuild-kubernetes.sh) is
# what e2e/cluster upgrades to.
kubernetes: deps
	@if [ "$$(id -u)" = 0 ]; then \
		scripts/build-kubernetes.sh >/dev/null || \
			echo "make: the Kubernetes build failed; tests that need it will skip" >&2; \
		scripts/rebuild-kubernetes.sh >/dev/null || \
			echo "make: the second Kubernetes build (ezk upgrade's test) failed; e2e/cluster skips the upgrade" >&2; \
	fi

test: deps kubernetes
	@$(MAKE) --no-print-directory all units
	@EZK_BIN=$(CURDIR)/$(EZK) EZK_UNIT_DIR=$(CURDIR)/$(B)/tests \
		EZK_TOOL_DIR=$(CURDIR)/$(B)/tools tests/run.sh

SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
check: deps kubernetes
	@$(MAKE) --no-print-directory B=build-san CFLAGS="-O1 -g $(SAN)" LIBS="$(LIBS) $(SAN)" all units
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		EZK_TEST_CLUSTERS=0 \
		EZK_BIN=$(CURDIR)/build-san/ezk EZK_UNIT_DIR=$(CURDIR)/build-san/tests \
		EZK_TOOL_DIR=$(CURDIR)/build-san/tools tests/run.sh

FUZZ_SECONDS ?= 60
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

$(B)/bench/%: tests/bench/%.c $(B)/libezk.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libezk.a $(LIBS)

bench: all units $(B)/bench/bench-vars
	@tests/bench/run.sh

demo:
	@scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/ezk/inventories \
		$(DESTDIR)$(PREFIX)/share/ezk/roles $(DESTDIR)$(PREFIX)/share/ezk/offline \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 ezk $(DESTDIR)$(PREFIX)/bin/ezk
	install -m 0644 inventories/* $(DESTDIR)$(PREFIX)/share/ezk/inventories/
	cp -R roles/. $(DESTDIR)$(PREFIX)/share/ezk/roles/
	install -m 0644 offline/versions.yml $(DESTDIR)$(PREFIX)/share/ezk/offline/
	./ezk completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ezk
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	./ezk help --man > $(DESTDIR)$(PREFIX)/share/man/man1/ezk.1

format:
	clang-format -i core/*.c core/*.h core/tmpl/*.[ch] $(wildcard ssh/*.[ch]) tests/unit/*.c tests/unit/*.h $(wildcard tests/fuzz/*.c)

clean:
	rm -rf build build-san build-fuzz ezk
