# cprof - one non-recursive Makefile.
#
#   make            build build/cprof (never touches the network)
#   make demo       install missing build deps, build, profile a demo, write a report
#   make check      install missing build and test deps, build, run every test
#                   (also under ASan/UBSan)
#   make bench      install perf & co. when missing; ratios against perf / addr2line
#                   (uses ../shared when present)
#   make deps       install the build dependencies only (deps-check, deps-bench:
#                   those of the tests, of bench); Debian 12, as root
#   make check-workloads  the record tests on ../shared/workloads' programs
#   make fuzz       build and run the libFuzzer harnesses for longer
#   make install    PREFIX=/usr/local DESTDIR=
#   make help       this list
#
# Knobs: O=build (output dir), V=1 (show commands), DEVELOPER=1 (-Werror),
#        SAN=address,undefined (sanitizer build into build-san/), CC=clang.

O ?= build
ifneq ($(SAN),)
O := build-san
endif
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
CC ?= cc
CFLAGS ?= -O2 -g

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

PKGS := libdw libelf libunwind libunwind-generic libunwind-ptrace libzstd capstone zlib ncursesw liblzma \
	libdebuginfod libmicrohttpd gnutls jansson inih sqlite3 libcurl libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# capstone is dlopen'ed by lib/format/annotate.c when first needed: its
# headers only
PKG_LIBS := $(filter-out -lcapstone,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
# The goals that install what they need first (scripts/deps.sh) or need
# nothing: on a machine without the libraries they must get to run, so
# the check below is only for the others (make, install, fuzz...).  Their
# sub-makes parse this file again once the packages are there.
SETUP_GOALS := deps deps-check deps-bench demo check bench help clean distclean
ifneq ($(filter-out $(SETUP_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(PKG_LIBS),)
$(error missing build dependencies (pkg-config does not find all of: $(PKGS)); run 'make deps' as root to install them (or 'make demo' or 'make check', which install them first))
endif
ifeq ($(wildcard /usr/include/libiberty/demangle.h),)
$(error missing build dependency libiberty (no /usr/include/libiberty/demangle.h); run 'make deps' as root to install it (or 'make demo' or 'make check', which install it first))
endif
endif

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wvla -Wundef -Wno-unused-parameter -fno-common
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif
SANFLAGS :=
ifneq ($(SAN),)
SANFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SAN) -fno-sanitize-recover=all
endif
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -Ilib -I$(O) \
	$(PKG_CFLAGS) -MMD -MP
# libdebuginfod is loaded at run time, only when DEBUGINFOD_URLS is set
# (lib/symbol/debuginfod.c): its header is needed, its library not linked
LIBS := $(filter-out -ldebuginfod,$(PKG_LIBS)) -liberty -lpthread -lm -ldl
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

# lib/preload is the interposer cprof heap loads into its target: its own
# shared library, not part of libcprof
LIB_SRCS := $(sort $(filter-out lib/preload/%,$(wildcard lib/*/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
CMD_SRCS := $(sort $(wildcard cmd/*.c))
CMD_OBJS := $(CMD_SRCS:%.c=$(O)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIBCPROF := $(O)/libcprof.a
CPROF := $(O)/cprof

HEAPLIB := $(O)/libcprof-heap.so

all: $(CPROF) $(HEAPLIB)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCPROF): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(CPROF): $(CMD_OBJS) $(LIBCPROF)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJS) $(LIBCPROF) $(LIBS)

# never with sanitizers: it runs inside the profiled program
$(HEAPLIB): $(wildcard lib/preload/*.c lib/preload/*.h) lib/heap/ring.h
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib -fPIC -shared -fvisibility=hidden \
		-fno-omit-frame-pointer -ftls-model=initial-exec -o $@ $(wildcard lib/preload/*.c) \
		-lunwind -lm -ldl -lpthread

$(O)/tests/unit/%: tests/unit/%.c $(LIBCPROF)
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBCPROF) $(LIBS) $(ALL_LDFLAGS) -lcmocka

unit: $(UNIT_BINS)

# syscall names and numbers of the machine built for, from its kernel
# headers through the preprocessor (scripts/gen-syscalls.sh: names defined
# by other macros, as on aarch64, are kept); lib/proc/syscall.c includes it
%/gen/syscalls.h: scripts/gen-syscalls.sh
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)CC="$(CC)" scripts/gen-syscalls.sh >$@.tmp
	$(Q)test -s $@.tmp && mv $@.tmp $@
$(O)/lib/proc/syscall.o: $(O)/gen/syscalls.h

# the flame graph's script, lib/format/flame.js, as C string literals that
# lib/format/flame.c embeds in every SVG
%/gen/flame_js.h: lib/format/flame.js
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@.tmp
	$(Q)mv $@.tmp $@
$(O)/lib/format/flame.o: $(O)/gen/flame_js.h

# the web pages of cprof serve (web/), as C string literals lib/serve/ui.c
# serves
%/gen/web_index_html.h: web/index.html
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@.tmp
	$(Q)mv $@.tmp $@
%/gen/web_app_js.h: web/app.js
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@.tmp
	$(Q)mv $@.tmp $@
%/gen/web_app_css.h: web/app.css
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@.tmp
	$(Q)mv $@.tmp $@
WEB_GEN = gen/web_index_html.h gen/web_app_js.h gen/web_app_css.h
$(O)/lib/serve/ui.o: $(addprefix $(O)/,$(WEB_GEN))

# ---- test fixtures: tiny programs with known profiles ---------------------
include tests/fixtures/fixtures.mk

# ---- tests -----------------------------------------------------------------
# `make check` = deps, the normal build with all tests, then the library and
# unit tests again under ASan+UBSan.  One summary line at the end.
check: deps-check
	$(Q)$(MAKE) --no-print-directory all unit fixtures
	$(Q)$(MAKE) --no-print-directory SAN=address,undefined all unit
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/run.sh --build $(O) --san-build build-san

check-fast: all unit fixtures
	$(Q)tests/run.sh --build $(O)

# The record tests again, on the reference workloads in ../shared (when
# present): the checks must hold on those programs as on our fixtures.
WORKLOADS ?= ../shared/workloads
check-workloads: all
	$(Q)test -d $(WORKLOADS) || { echo "check-workloads: no $(WORKLOADS)"; exit 1; }
	$(Q)$(MAKE) --no-print-directory -C $(WORKLOADS) BIN=$(abspath $(O))/workloads >/dev/null
	$(Q)FIXTURES=$(abspath $(O))/workloads tests/run.sh --build $(O) 1000- 1010- 1020- 1030- \
		1040- 1050- 1060- 1200- 1210- 1300- 2100- 2110-

# what building needs (deps), and the tests' tools (deps-check) or the
# tools bench compares against (deps-bench) besides; see scripts/deps.sh
deps:
	$(Q)scripts/deps.sh build
deps-check:
	$(Q)scripts/deps.sh check
deps-bench:
	$(Q)scripts/deps.sh bench

# ---- fuzzing (clang's libFuzzer) -------------------------------------------
FUZZ_O := build-fuzz
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_O)/%)
FUZZ_LIB_SRCS := $(LIB_SRCS)
$(FUZZ_O)/lib/proc/syscall.o: $(FUZZ_O)/gen/syscalls.h
$(FUZZ_O)/lib/format/flame.o: $(FUZZ_O)/gen/flame_js.h
$(FUZZ_O)/lib/serve/ui.o: $(addprefix $(FUZZ_O)/,$(WEB_GEN))
$(FUZZ_O)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=undefined \
		-Ilib -I$(FUZZ_O) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<
$(FUZZ_O)/libcprof.a: $(FUZZ_LIB_SRCS:%.c=$(FUZZ_O)/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_O)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz-text.h $(FUZZ_O)/libcprof.a
	$(call msg,FUZZ,$@)
	$(Q)clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -Ilib \
		$(PKG_CFLAGS) -o $@ $< $(FUZZ_O)/libcprof.a $(LIBS)
fuzz-build: $(FUZZ_BINS)
# libFuzzer comes with clang's runtime; say so before the first compile fails
ifneq ($(filter fuzz fuzz-build,$(MAKECMDGOALS)),)
ifeq ($(shell command -v clang >/dev/null && clang -print-file-name=libclang_rt.fuzzer-x86_64.a | grep -q /; echo $$?),1)
$(error make fuzz needs clang and libFuzzer (Debian: clang libclang-rt-14-dev); run 'make deps-check' as root to install them)
endif
endif
fuzz: fuzz-build
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(FUZZ_O)/corpus-$$n; \
		$$f -max_total_time=$${FUZZ_TIME:-300} -timeout=$${FUZZ_TIMEOUT:-5} $(FUZZ_O)/corpus-$$n tests/fuzz/corpus/$${n#fuzz_} || exit 1; done

# ---- demo and bench ---------------------------------------------------------
demo: deps
	$(Q)$(MAKE) --no-print-directory all fixtures
	$(Q)scripts/demo.sh $(O)

bench: deps-bench
	$(Q)$(MAKE) --no-print-directory all fixtures bench-tools
	$(Q)bench/run.sh $(O)

# helpers `make bench` runs, linked against the same library as cprof
bench-tools: $(O)/bench/unwind-compare $(O)/bench/gen-recording $(O)/bench/store-fill
$(O)/bench/%: bench/%.c $(LIBCPROF)
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBCPROF) $(LIBS) $(ALL_LDFLAGS)

# ---- install ----------------------------------------------------------------
MANPAGES := $(wildcard man/*.1 man/*.5)
install: $(CPROF) $(HEAPLIB)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions \
		$(DESTDIR)$(DATADIR)/zsh/site-functions $(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	install -m 0755 $(CPROF) $(DESTDIR)$(BINDIR)/cprof
	install -d $(DESTDIR)$(PREFIX)/lib/cprof
	install -m 0644 $(HEAPLIB) $(DESTDIR)$(PREFIX)/lib/cprof/libcprof-heap.so
	install -m 0644 $(filter %.1,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.5,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 completions/cprof.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/cprof
	install -m 0644 completions/_cprof $(DESTDIR)$(DATADIR)/zsh/site-functions/_cprof
	install -m 0644 completions/cprof.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/cprof.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cprof
	rm -f $(DESTDIR)$(PREFIX)/lib/cprof/libcprof-heap.so
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(filter %.1,$(MANPAGES))))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(filter %.5,$(MANPAGES))))
	rm -f $(DESTDIR)$(DATADIR)/bash-completion/completions/cprof
	rm -f $(DESTDIR)$(DATADIR)/zsh/site-functions/_cprof
	rm -f $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/cprof.fish

lint-man:
	$(Q)for f in $(MANPAGES); do mandoc -Tlint -W warning $$f || exit 1; done

format:
	$(Q)clang-format -i $(LIB_SRCS) $(CMD_SRCS) $(wildcard lib/*/*.h cmd/*.h)
format-check:
	$(Q)clang-format --dry-run --Werror $(LIB_SRCS) $(CMD_SRCS) $(wildcard lib/*/*.h cmd/*.h)

clean:
	rm -rf build build-san build-fuzz

distclean: clean

help:
	@sed -n '2,/^$$/{/^#/p}' Makefile | sed 's/^# \{0,1\}//'

.PHONY: all unit check check-fast check-workloads deps deps-check deps-bench fuzz fuzz-build demo bench bench-tools install uninstall \
	lint-man format format-check clean distclean help fixtures

-include $(LIB_OBJS:.o=.d) $(CMD_OBJS:.o=.d) $(O)/bench/unwind-compare.d \
	$(FUZZ_LIB_SRCS:%.c=$(FUZZ_O)/%.d)
