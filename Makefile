# gdnn: a C core for tensors, einsum and gradient descent, scripted from
# Lua 5.4. `make` builds libgdnn.a (the core, no Lua inside), gdnn.so (the
# module for `require "gdnn"`) and the gdnn-lua interpreter.

PREFIX ?= /usr/local
DESTDIR ?=
LUA_VERSION = 5.4
VERSION = 0.1.0

CC ?= cc
PKG_CONFIG ?= pkg-config
LUA_CFLAGS := $(shell $(PKG_CONFIG) --cflags lua$(LUA_VERSION) 2>/dev/null \
                || echo -I/usr/include/lua$(LUA_VERSION))
LUA_LIBS := $(shell $(PKG_CONFIG) --libs lua$(LUA_VERSION) 2>/dev/null \
              || echo -llua$(LUA_VERSION))
BLAS_CFLAGS := $(shell $(PKG_CONFIG) --cflags openblas 2>/dev/null)
BLAS_LIBS := $(shell $(PKG_CONFIG) --libs openblas 2>/dev/null \
               || echo -lopenblas)

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
       -Wundef -Wvla
OPT ?= -O2 -g
CFLAGS ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(CFLAGS) \
             $(WERROR) $(BLAS_CFLAGS) $(LUA_CFLAGS) -MMD -MP
LDLIBS = $(BLAS_LIBS) -lm

BUILD = build
CORE_SRC := $(filter-out src/lua_%.c src/gdnn_lua.c,$(wildcard src/*.c))
BIND_SRC := $(wildcard src/lua_*.c)
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/%.o)
BIND_OBJ := $(BIND_SRC:src/%.c=$(BUILD)/%.o)

LIB = libgdnn.a
MODULE = gdnn.so
INTERP = gdnn-lua

BUSTED = /usr/bin/busted

.PHONY: all deps test bench sine demo install uninstall clean bootstrap FORCE

all: $(LIB) $(MODULE) $(INTERP)

# Fails with the names of missing Debian packages, before any compiler
# error can.
deps:
	@sh tools/check-deps build

bootstrap:
	@sh tools/bootstrap

$(BUILD)/%.o: src/%.c $(BUILD)/flags | deps
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Objects are rebuilt whenever the compiler flags change (as between the
# test build, which adds -Werror, and a plain one).
$(BUILD)/flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS)' | cmp -s - $@ \
	  || echo '$(CC) $(ALL_CFLAGS)' > $@

FORCE:

$(LIB): $(CORE_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(MODULE): $(BIND_OBJ) $(LIB)
	$(CC) -shared -o $@ $(BIND_OBJ) $(LIB) $(LDLIBS)

$(INTERP): $(BUILD)/gdnn_lua.o $(BIND_OBJ) $(LIB)
	$(CC) -o $@ $^ $(LUA_LIBS) -lreadline $(LDLIBS) -Wl,-E -ldl

$(BUILD)/gdnn_lua.o: ALL_CFLAGS += -DGDNN_VERSION='"$(VERSION)"' \
  -DGDNN_LUADIR='"$(PREFIX)/share/lua/$(LUA_VERSION)"'

# The test build treats every warning as an error.
test: bootstrap
	$(MAKE) WERROR=-Werror all
	@sh tools/runtests

bench: all
	@sh tools/bench

# The sine fit alone (the README's first command), or both demos.
sine: bootstrap all
	./$(INTERP) scripts/sine.lua

demo: bootstrap all
	./$(INTERP) scripts/demo.lua

clean:
	rm -rf $(BUILD) $(LIB) $(MODULE) $(INTERP)

-include $(CORE_OBJ:.o=.d) $(BIND_OBJ:.o=.d) $(BUILD)/gdnn_lua.d

# Installation, examples, sanitizers and fuzzing have rule files of their
# own.
include $(wildcard mk/*.mk)
