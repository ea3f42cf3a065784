# checkpointd - one Makefile.
#
#   make            build build/checkpointd
#   make run        install what is missing, then run the service in the foreground
#   make test       install what is missing, then unit + end-to-end tests
#   make unit       unit tests only (cmocka)         make e2e   end-to-end only
#   make bench      benchmarks                       make clean
#   make SANITIZE=address,undefined test             the same under sanitizers
#   make e2e T=test_checkpoints.py::test_wait        one end-to-end test

VERSION    := 0.1.0
CC         ?= cc
SANITIZE   ?=
BUILD      := build
PKGS       := libmicrohttpd libcurl json-c sqlite3

WARNINGS   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
              -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla \
              -Wcast-align -Wwrite-strings -Wundef -fno-common \
              -Wno-format-truncation
CFLAGS     ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DCHECKPOINTD_VERSION='"$(VERSION)"' \
              $(WARNINGS) $(CFLAGS) -Isrc -I$(BUILD)/gen -MMD -MP \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS       := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

LIB_SRC    := $(sort $(shell find src -name '*.c' ! -name main.c))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/embedded.o
EMBED      := $(sort $(wildcard sql/*.sql)) openapi/openapi.json
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all run test unit e2e bench deps deps-test clean lint
all: $(BUILD)/checkpointd

# A change of compiler flags (e.g. SANITIZE=) rebuilds everything.
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@
FORCE:

$(BUILD)/obj/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/gen/embedded.c: $(EMBED) tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh $@ $(EMBED)

$(BUILD)/obj/gen/embedded.o: $(BUILD)/gen/embedded.c $(BUILD)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libcheckpointd.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/checkpointd: $(BUILD)/obj/src/main.o $(BUILD)/libcheckpointd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcheckpointd.a $(BUILD)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libcheckpointd.a $(LIBS) -lcmocka

# Installs what building and running need (Debian 12, as root); quick when all is there.
deps:
	@sh tools/deps.sh build

deps-test:
	@sh tools/deps.sh test

run: deps
	@$(MAKE) --no-print-directory all
	@sh tools/run.sh

unit: deps-test
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@sh tests/run.sh unit

e2e: deps-test
	@$(MAKE) --no-print-directory all
	@sh tests/run.sh e2e $(T)

test: deps-test
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@sh tests/run.sh all

bench: deps-test
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh

lint:
	clang-format --dry-run --Werror $(shell find src tests/unit -name '*.[ch]')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
