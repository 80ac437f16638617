# flowhunt: one Makefile for the collector (flowhuntd), the analyzer (flowhunt), the tests,
# the fuzzers and the demo. Every entry point first runs the install step
# (scripts/install-deps.sh), which does nothing when all packages are present.
#
#   make            build build/flowhuntd and build/flowhunt
#   make test       unit, golden, conformance and end-to-end tests, fuzz corpora replayed
#   make asan       the same tests built with ASan+UBSan (build-asan/)
#   make valgrind   the same tests under valgrind
#   make fuzz       run each libFuzzer target for FUZZ_TIME seconds (default 60)
#   make demo       collect a capture with planted threats on loopback, hunt, show findings
#   make bench      every benchmark, flowhunt beside nfcapd/nfdump/tshark in one run
#                   (benchmarks/bench.sh: ingest, bytes per flow, queries, decode, hunt),
#                   written to benchmarks/results/<UTC date>.md
#   make bench-quick   the same on 200 thousand flows, in under two minutes
#   make bench-decode  v5, v9 and IPFIX decode speed in flows per CPU-second, beside tshark

BUILD   ?= build
OPT     ?= -O2
SAN     ?=
CC      ?= cc
FUZZCC  ?= clang
FUZZ_TIME ?= 60

INCS    := -Istorage -Icollector -Icollector/decode -Icollector/capture -Ibenchmarks -Ianalyzer -Itests
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -Wshadow -Wvla $(SAN) $(INCS) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN)
# storage/ (segments: zstd chunks, a threaded scan) is linked into every program.
LIBS_STORAGE   := -lzstd -lpthread
LIBS_COLLECTOR := -lJudy -luv $(LIBS_STORAGE)
LIBS_ANALYZER  := -lJudy -lmaxminddb -ljansson -lm $(LIBS_STORAGE)

STORAGE_SRC   := $(sort $(wildcard storage/*.c))
COLLECTOR_SRC := $(sort $(filter-out collector/main.c,$(wildcard collector/*.c collector/decode/*.c collector/capture/*.c)))
ANALYZER_SRC  := $(sort $(filter-out analyzer/main.c,$(wildcard analyzer/*.c)))
FUZZ_SRC      := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES    := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
TEST_SRC      := tests/runner.c tests/helpers.c tests/daemon_helpers.c tests/exporter_helpers.c $(sort $(wildcard tests/unit/*.c)) $(FUZZ_SRC)
BENCH_SRC     := $(sort $(filter-out benchmarks/flowgen.c benchmarks/bench_decode.c benchmarks/bench_store.c,$(wildcard benchmarks/*.c)))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

FLOWHUNTD := $(BUILD)/flowhuntd
FLOWHUNT  := $(BUILD)/flowhunt
FLOWGEN   := $(BUILD)/flowgen
BENCH_DECODE := $(BUILD)/bench_decode
BENCH_STORE  := $(BUILD)/bench_store
RUNNER    := $(BUILD)/tests/runner
FUZZERS   := $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_NAMES))

.PHONY: all binaries deps test asan valgrind fuzz fuzzers demo bench bench-quick bench-decode clean format
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory binaries

binaries: $(FLOWHUNTD) $(FLOWHUNT) $(FLOWGEN)

deps:
	@sh scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libstorage.a: $(call obj,$(STORAGE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libcollector.a: $(call obj,$(COLLECTOR_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(FLOWHUNTD): $(call obj,collector/main.c) $(BUILD)/libcollector.a $(BUILD)/libstorage.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COLLECTOR)

$(FLOWHUNT): $(call obj,analyzer/main.c $(ANALYZER_SRC)) $(BUILD)/libstorage.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_ANALYZER)

$(FLOWGEN): $(call obj,benchmarks/flowgen.c $(BENCH_SRC)) $(BUILD)/libcollector.a $(BUILD)/libstorage.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COLLECTOR) -lm

$(BENCH_DECODE): $(call obj,benchmarks/bench_decode.c $(BENCH_SRC)) $(BUILD)/libcollector.a $(BUILD)/libstorage.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COLLECTOR) -lm

# bench_store links the reader too (rows read back are counted): libstorage has both.
$(BENCH_STORE): $(call obj,benchmarks/bench_store.c) $(BUILD)/libcollector.a $(BUILD)/libstorage.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COLLECTOR)

$(RUNNER): $(call obj,$(TEST_SRC) $(BENCH_SRC) $(ANALYZER_SRC)) $(BUILD)/libcollector.a $(BUILD)/libstorage.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COLLECTOR) $(LIBS_ANALYZER)

# libFuzzer targets: clang with the fuzzer runtime, ASan and UBSan, built from the sources
# directly so they never share objects with the gcc builds.
FUZZFLAGS := -std=c11 -D_GNU_SOURCE -DFH_LIBFUZZER -O1 -g -Wall -Wextra -Werror -Wshadow -Wvla \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(INCS)
# The daemon's own modules (threads, libuv, files) are not what the fuzzers exercise.
DAEMON_SRC := collector/daemon.c collector/worker.c collector/dq.c collector/log.c collector/tpl_store.c \
              collector/known_store.c collector/printq.c
FUZZ_LIB_SRC := $(STORAGE_SRC) $(filter-out $(DAEMON_SRC),$(COLLECTOR_SRC))
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRC) $(wildcard storage/*.h collector/*.h collector/*/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(LIBS_COLLECTOR)
# The saved templates' target: the collector's library, the store and the log it writes to.
$(BUILD)/fuzz/fuzz_tplstore: tests/fuzz/fuzz_tplstore.c $(FUZZ_LIB_SRC) collector/tpl_store.c collector/log.c $(wildcard storage/*.h collector/*.h collector/*/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) -o $@ $< $(FUZZ_LIB_SRC) collector/tpl_store.c collector/log.c $(LIBS_COLLECTOR)
# The targets of analyzer code link the analyzer instead of the collector: the users CSV
# (enrich.c), the hunts' hour cache (hunt_unit.c), the audit log's checker (audit.c) and
# the import formats (cmd_import.c), the hunts' configuration (hunt_config.c) and their
# state files (hunt_report.c, the rare hunt's baseline in hunt_rare.c).
FUZZ_ANALYZER := $(addprefix $(BUILD)/fuzz/fuzz_,users unit audit import config state baseline)
$(FUZZ_ANALYZER): $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(ANALYZER_SRC) $(STORAGE_SRC) $(wildcard storage/*.h analyzer/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) -o $@ $< $(ANALYZER_SRC) $(STORAGE_SRC) $(LIBS_ANALYZER)
# The threat-intel feed target: intel.c and only what it calls (the Judy wrapper, time
# parsing, the flow address), with jansson.
FUZZ_INTEL_SRC := analyzer/intel.c analyzer/hunt_judy.c analyzer/timearg.c $(STORAGE_SRC)
$(BUILD)/fuzz/fuzz_intel: tests/fuzz/fuzz_intel.c $(FUZZ_INTEL_SRC) $(wildcard storage/*.h analyzer/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) -o $@ $< $(FUZZ_INTEL_SRC) -ljansson -lJudy $(LIBS_STORAGE)
# The filter language's target: filter.c over the storage library (batches, zone maps).
$(BUILD)/fuzz/fuzz_filter: tests/fuzz/fuzz_filter.c analyzer/filter.c analyzer/protoname.c $(STORAGE_SRC) $(wildcard storage/*.h analyzer/filter.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) -o $@ $< analyzer/filter.c analyzer/protoname.c $(STORAGE_SRC) $(LIBS_STORAGE)

fuzzers: $(FUZZERS)

test: deps
	@$(MAKE) --no-print-directory binaries $(RUNNER) fuzzers
	@FH_BUILD=$(BUILD) ./$(RUNNER)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		binaries build-asan/tests/runner fuzzers
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		FH_BUILD=build-asan ./build-asan/tests/runner

# The same tests under valgrind (memcheck), each test process followed through its fork.
valgrind: deps
	@$(MAKE) --no-print-directory binaries $(RUNNER)
	@FH_BUILD=$(BUILD) FH_TEST_TIMEOUT=600 valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite ./$(RUNNER)

# Each target runs FUZZ_TIME seconds on a scratch copy of its corpus, so the repository's
# corpora change only when someone copies an interesting input back on purpose.
fuzz: deps
	@$(MAKE) --no-print-directory fuzzers
	@set -e; for t in $(FUZZ_NAMES); do \
		work=$$(mktemp -d); cp tests/fuzz/corpus/$$t/* $$work/ 2>/dev/null || true; \
		echo "fuzz $$t for $(FUZZ_TIME) s"; \
		./$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$t- $$work || { rm -rf $$work; exit 1; }; \
		rm -rf $$work; \
	done

demo: all
	@sh scripts/demo.sh $(BUILD)

# Benchmarks print their figures beside the anchors measured in the same run. ClickHouse (the
# beacon hunt's anchor) is installed for `make bench` only; without it its rows are skipped.
bench: deps
	@sh scripts/install-deps.sh clickhouse-server clickhouse-client || \
		echo "bench: ClickHouse not installed; the bench skips its rows" >&2
	@$(MAKE) --no-print-directory binaries $(BENCH_DECODE) $(BENCH_STORE)
	@bash benchmarks/bench.sh full $(BUILD)

bench-quick: deps
	@$(MAKE) --no-print-directory binaries $(BENCH_DECODE) $(BENCH_STORE)
	@bash benchmarks/bench.sh quick $(BUILD)

bench-decode: deps
	@$(MAKE) --no-print-directory $(BENCH_DECODE)
	@./$(BENCH_DECODE)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
