# install.mk: the shared libraries, pkg-config files, `make install`,
# `make uninstall`, `make examples` and what luarocks calls.
#
# make install PREFIX=... DESTDIR=... puts under $(DESTDIR)$(PREFIX):
#   include/gdnn.h, include/gdnn/*.h    the public headers
#   lib/libgdnn.a, lib/libgdnn.so*      the core (no Lua)
#   lib/libgdnn-lua.a, .so*             the binding, for embedding
#   lib/pkgconfig/gdnn.pc, gdnn-lua.pc
#   lib/lua/5.4/gdnn.so                 require "gdnn"
#   share/lua/5.4/gdnn/*.lua            the Lua modules
#   bin/gdnn-lua, share/man/man1/gdnn-lua.1
# and make uninstall removes exactly those files, and the two folders
# that are gdnn's own (include/gdnn and share/lua/5.4/gdnn) when empty.
#
# Limits: the shared libraries are named for ELF systems (soname
# libgdnn.so.MAJOR); the examples are built against an installed gdnn
# found through pkg-config under $(DESTDIR)$(PREFIX).

SOMAJOR = $(firstword $(subst ., ,$(VERSION)))
SOLIB = $(BUILD)/lib/libgdnn.so.$(VERSION)
SOLIB_LUA = $(BUILD)/lib/libgdnn-lua.so.$(VERSION)
LIB_LUA = $(BUILD)/lib/libgdnn-lua.a
EMBED_OBJ = $(BIND_OBJ)

PUBLIC_H = core rng tensor einsum jacobian activation loss descent \
           network fileio interrupt lua_embed
LUA_MODS = $(wildcard lua/gdnn/*.lua)

INSTALL ?= install
INSTALL_DATA = $(INSTALL) -m 644

D = $(DESTDIR)$(PREFIX)
INCDIR = $(D)/include
LIBDIR = $(D)/lib
PCDIR = $(LIBDIR)/pkgconfig
LUA_CMOD_DIR = $(LIBDIR)/lua/$(LUA_VERSION)
LUA_LMOD_DIR = $(D)/share/lua/$(LUA_VERSION)
BINDIR = $(D)/bin
MAN1DIR = $(D)/share/man/man1

.PHONY: shared install-lib install-lua install-rock examples

shared: $(SOLIB) $(SOLIB_LUA) $(LIB_LUA) $(BUILD)/gdnn.pc \
        $(BUILD)/gdnn-lua.pc

# The core as a shared library, with a soname carrying the major
# version and the two usual links beside it.
$(SOLIB): $(CORE_OBJ)
	@mkdir -p $(BUILD)/lib
	$(CC) -shared -Wl,-soname,libgdnn.so.$(SOMAJOR) -o $@ $^ $(LDLIBS)
	ln -sf libgdnn.so.$(VERSION) $(BUILD)/lib/libgdnn.so.$(SOMAJOR)
	ln -sf libgdnn.so.$(SOMAJOR) $(BUILD)/lib/libgdnn.so

# The binding, for hosts that embed Lua: it links libgdnn and Lua, and
# finds libgdnn beside itself (run path $ORIGIN) wherever installed.
$(SOLIB_LUA): $(EMBED_OBJ) $(SOLIB)
	$(CC) -shared -Wl,-soname,libgdnn-lua.so.$(SOMAJOR) -o $@ \
	  $(EMBED_OBJ) -L$(BUILD)/lib -lgdnn $(LUA_LIBS) $(LDLIBS) \
	  -Wl,-rpath,'$$ORIGIN'
	ln -sf libgdnn-lua.so.$(VERSION) \
	  $(BUILD)/lib/libgdnn-lua.so.$(SOMAJOR)
	ln -sf libgdnn-lua.so.$(SOMAJOR) $(BUILD)/lib/libgdnn-lua.so

$(LIB_LUA): $(EMBED_OBJ)
	@mkdir -p $(BUILD)/lib
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.pc: %.pc.in FORCE
	@mkdir -p $(BUILD)
	@sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	  -e 's|@LUA_VERSION@|$(LUA_VERSION)|g' \
	  -e 's|@BLAS_LIBS@|$(strip $(BLAS_LIBS))|g' $< > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@

install: all shared install-lib install-lua

# Headers, libraries and pkg-config files: what C programs use.
install-lib: shared
	$(INSTALL) -d $(INCDIR)/gdnn $(PCDIR)
	$(INSTALL_DATA) include/gdnn.h $(INCDIR)/gdnn.h
	for h in $(PUBLIC_H); do \
	  $(INSTALL_DATA) src/$$h.h $(INCDIR)/gdnn/$$h.h || exit 1; \
	done
	$(INSTALL_DATA) $(LIB) $(LIB_LUA) $(LIBDIR)
	$(INSTALL) -m 755 $(SOLIB) $(SOLIB_LUA) $(LIBDIR)
	for l in libgdnn libgdnn-lua; do \
	  ln -sf $$l.so.$(VERSION) $(LIBDIR)/$$l.so.$(SOMAJOR) && \
	  ln -sf $$l.so.$(SOMAJOR) $(LIBDIR)/$$l.so || exit 1; \
	done
	$(INSTALL_DATA) $(BUILD)/gdnn.pc $(BUILD)/gdnn-lua.pc $(PCDIR)

# The module, the Lua files, the interpreter and its man page.
install-lua: all
	$(INSTALL) -d $(LUA_CMOD_DIR) $(LUA_LMOD_DIR)/gdnn $(BINDIR) \
	  $(MAN1DIR)
	$(INSTALL) -m 755 $(MODULE) $(LUA_CMOD_DIR)/gdnn.so
	$(INSTALL_DATA) $(LUA_MODS) $(LUA_LMOD_DIR)/gdnn
	$(INSTALL) -m 755 $(INTERP) $(BINDIR)/gdnn-lua
	$(INSTALL_DATA) doc/gdnn-lua.1 $(MAN1DIR)/gdnn-lua.1

uninstall:
	rm -f $(INCDIR)/gdnn.h $(PUBLIC_H:%=$(INCDIR)/gdnn/%.h)
	-rmdir $(INCDIR)/gdnn 2>/dev/null
	rm -f $(LIBDIR)/libgdnn.a $(LIBDIR)/libgdnn-lua.a
	for l in libgdnn libgdnn-lua; do \
	  rm -f $(LIBDIR)/$$l.so $(LIBDIR)/$$l.so.$(SOMAJOR) \
	    $(LIBDIR)/$$l.so.$(VERSION); \
	done
	rm -f $(PCDIR)/gdnn.pc $(PCDIR)/gdnn-lua.pc
	rm -f $(LUA_CMOD_DIR)/gdnn.so
	rm -f $(LUA_MODS:lua/gdnn/%=$(LUA_LMOD_DIR)/gdnn/%)
	-rmdir $(LUA_LMOD_DIR)/gdnn 2>/dev/null
	rm -f $(BINDIR)/gdnn-lua $(MAN1DIR)/gdnn-lua.1

# What the rockspec's "make" build calls: the module, the Lua files
# and gdnn-lua go to the folders luarocks names; the C library,
# headers and pkg-config files go under $(PREFIX)/c, in the rock's own
# folder (luarocks deploys only lua/, lib/ and bin/ from there), where
# `make examples PREFIX=<rock folder>/c` finds them.
install-rock: all
	$(MAKE) install-lib PREFIX=$(PREFIX)/c
	$(INSTALL) -d $(INST_LIBDIR) $(INST_LUADIR)/gdnn $(INST_BINDIR)
	$(INSTALL) -m 755 $(MODULE) $(INST_LIBDIR)/gdnn.so
	$(INSTALL_DATA) $(LUA_MODS) $(INST_LUADIR)/gdnn
	$(INSTALL) -m 755 $(INTERP) $(INST_BINDIR)/gdnn-lua

# The examples, built against the gdnn installed under
# $(DESTDIR)$(PREFIX), with that library folder as their run path.
EX_PC = PKG_CONFIG_PATH=$(PCDIR) PKG_CONFIG_SYSROOT_DIR=$(DESTDIR) \
        $(PKG_CONFIG)
EX_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(OPT) $(WERROR)

examples: examples/fit.bin examples/host.bin

examples/fit.bin: examples/fit.c FORCE
	$(CC) $(EX_CFLAGS) $$($(EX_PC) --cflags gdnn) -o $@ $< \
	  $$($(EX_PC) --libs gdnn) -Wl,-rpath,$(PREFIX)/lib -lm

examples/host.bin: examples/host.c FORCE
	$(CC) $(EX_CFLAGS) $$($(EX_PC) --cflags gdnn-lua) -o $@ $< \
	  $$($(EX_PC) --libs gdnn-lua) -Wl,-rpath,$(PREFIX)/lib -lm
