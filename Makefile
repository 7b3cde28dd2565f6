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
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
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
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  bash tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash bench/run.sh

lint:
	npx --yes @redocly/cli@2.77.0 lint proto/openapi.yaml

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
