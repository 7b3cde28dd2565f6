# Build, run and test the property-management customer-service platform.
# `make run` and `make test` are the whole set-up (see README.md).

BUILD    ?= build
CC       ?= cc
PKGS     := libzmq libuv libpq libcjson libsodium libcurl
SERVICES := broker gateway tenants tickets billing notifications

OPT      ?= -O2 -g
CFLAGS   := $(OPT) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Icommon \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lm $(EXTRA_LDLIBS)
TEST_LDLIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
# A daemon links only what it calls: a shared library loaded costs every process its
# relocations and constructors (libcurl and its HTTP/2, SSH, LDAP stack: notifications
# idles ~3 MB above the other workers). Every daemon: the bus, the loop, JSON, PostgreSQL (not the broker:
# --as-needed drops a library no linked object calls); then each one's own.
SVC_LDLIBS := $(shell pkg-config --libs libzmq libuv libpq libcjson 2>/dev/null) \
              -lm $(EXTRA_LDLIBS)
SVC_LDLIBS_gateway       := -lhttp_parser $(shell pkg-config --libs libsodium 2>/dev/null)
SVC_LDLIBS_notifications := $(shell pkg-config --libs libcurl libsodium 2>/dev/null)
SVC_LDLIBS_tickets       := $(shell pkg-config --libs libsodium 2>/dev/null)

COMMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard common/*.c))
BINS       := $(SERVICES:%=$(BUILD)/bin/pm-%)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))

.PHONY: all build deps run test unit blackbox asan bench lint clean
.DEFAULT_GOAL := all

all: $(BINS) $(UNIT_TESTS) $(TEST_TOOLS)
build: all

# Debian packages; prints the apt-get command when not root.
deps:
	@sh scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Each service: its .c files, its migrations compiled in, and libcommon.
define service_rules
$(BUILD)/gen/$(1)_migrations.c: $$(sort $$(wildcard services/$(1)/migrations/*.sql)) scripts/embed-sql.sh
	@mkdir -p $$(@D)
	sh scripts/embed-sql.sh $$(sort $$(wildcard services/$(1)/migrations/*.sql)) > $$@
$(BUILD)/bin/pm-$(1): $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard services/$(1)/*.c)) \
                      $(BUILD)/gen/$(1)_migrations.o $(BUILD)/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -o $$@ $$^ -Wl,--as-needed $$(SVC_LDLIBS_$(1)) $$(SVC_LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))

# Unit tests (cmocka) may #include the .c file under test, as h2o's do.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-unused-function -MMD -MP -o $@ $< $(BUILD)/libcommon.a $(LDLIBS) $(TEST_LDLIBS)

# Programs the black-box tests drive (tests/tools: a hostile bus peer, ...).
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libcommon.a $(LDLIBS)

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) exec bash scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash tests/run.sh

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined" all
	@BUILD=build-asan PM_TEST_SLOWDOWN=3 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  bash tests/run.sh

# Issue I's goals, each beside its baseline from the same run (bench/run.sh, as root for
# the baseline): ~15 min, medians of 3; PM_BENCH_QUICK=1: ~2 min, one short run of each.
bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash bench/run.sh

# Issue M: many properties (bench/many.sh): 200 properties x 2,000 units, 2 million tickets,
# 24 months of bills; latencies, EXPLAIN of each statement, bill run 1 vs 200 properties, table
# sizes (~20 min on 2 cores, ~12 GB in the temp dir). Not part of make test nor make bench.
.PHONY: bench-many
bench-many: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash bench/many.sh

# Issue M: backups that restore (scripts/backup.sh: base backup, WAL archive, restore to a
# point in time, checked row by row, the product started on it) and the move of a service's
# schema to its own cluster (scripts/move-schema.sh); prints the figures docs/OPERATIONS.md quotes.
.PHONY: backup-test
backup-test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) python3 tests/blackbox/run.py tests/backup/test_backup.py tests/backup/test_move_schema.py

# Issue M: PostgreSQL failover (tests/ha/test_failover.py): etcd and two Patroni nodes on
# loopback (scripts/ha/patroni.yml.in), synchronous replication, the product on multi-host
# DSNs under write load, kill -9 of the primary's machine; prints the figures
# docs/OPERATIONS.md "PostgreSQL failover" quotes. ~1 min.
.PHONY: ha-test
ha-test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) python3 tests/blackbox/run.py tests/ha/test_failover.py

lint:
	npx --yes @redocly/cli@1.34.20 lint proto/openapi.yaml

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- fuzzing (issue G): libFuzzer targets of tests/fuzz/fuzz_*.c, built with
# clang under ASan+UBSan into FUZZ_BUILD, each run for FUZZ_SECONDS from its seed
# corpus (tests/fuzz/corpus/<target>/); any crash, leak or UBSan report fails.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang-14
FUZZ_BUILD   ?= build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# What each target links besides libcommon: the code under test (never a
# service's main, nor its database code).
FUZZ_LINK_fuzz_http       := $(patsubst %.c,%.o,$(filter-out services/gateway/main.c,\
                               $(wildcard services/gateway/*.c))) \
                             gen/gateway_migrations.o
FUZZ_LINK_fuzz_netguard   := services/notifications/netguard.o
FUZZ_LINK_fuzz_validators := services/tenants/unit_rules.o services/tenants/party_rules.o \
                             services/tenants/parking_rules.o services/billing/alloc_rules.o \
                             services/notifications/rules.o services/notifications/templates.o \
                             services/billing/bill_rules.o services/tickets/sla_clock.o
# tickets, tenants (V1)
FUZZ_LINK_fuzz_validators += services/tickets/ticket_rules.o services/tickets/workflow.o
# billing, notifications, gateway (V2)
FUZZ_LINK_fuzz_validators += services/billing/input_rules.o services/notifications/input_rules.o \
                             services/notifications/netguard.o services/gateway/gw_inputs.o

.PHONY: fuzz fuzz-build
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPT="-O1 -g" \
	  EXTRA_CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" EXTRA_LDLIBS="$(FUZZ_SAN)" fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

define fuzz_rules
$(BUILD)/fuzz/$(1): $(BUILD)/tests/fuzz/$(1).o $$(addprefix $(BUILD)/,$$(FUZZ_LINK_$(1))) $(BUILD)/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rules,$(t))))
