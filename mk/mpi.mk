# mpi.mk: the optional MPI part of the build. When mpicc is found (Debian:
# libopenmpi-dev), `make` also builds gdnn/mpi.so, the Lua module
# `gdnn.mpi`, which both gdnn-lua and lua5.4 load with require from the
# top folder. Without mpicc the rest of gdnn builds exactly as before and
# make says so in one line.
#
# The module links MPI but not libgdnn.a: it works on the tensors of
# whichever gdnn is loaded, so the core and gdnn.so stay free of MPI.
# `make install` adds lib/lua/5.4/gdnn/mpi.so; `make sanitize-mpi` runs
# the distributed specs through the sanitizer build (see check.mk);
# tools/run-mpi-specs runs them under mpirun.
#
# Limits: the compiler and linker flags are taken from mpicc --showme
# (Open MPI's wrapper); another wrapper needs MPI_CFLAGS and MPI_LIBS
# given on the command line.

MPICC ?= mpicc
HAVE_MPI := $(shell command -v $(MPICC) >/dev/null 2>&1 && echo yes)

ifeq ($(HAVE_MPI),yes)

MPI_CFLAGS ?= $(patsubst -I%,-isystem %,\
                $(shell $(MPICC) --showme:compile 2>/dev/null))
MPI_LIBS ?= $(shell $(MPICC) --showme:link 2>/dev/null)
MPI_MODULE = gdnn/mpi.so
MPI_OBJ = $(BUILD)/mpi/lua_mpi.o

all: $(MPI_MODULE)

$(MPI_OBJ): src/mpi/lua_mpi.c $(BUILD)/flags | deps
	@mkdir -p $(BUILD)/mpi
	$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) -c $< -o $@

$(MPI_MODULE): $(MPI_OBJ)
	@mkdir -p gdnn
	$(CC) -shared -o $@ $(MPI_OBJ) $(MPI_LIBS) -ldl

.PHONY: clean-mpi install-mpi
clean: clean-mpi
clean-mpi:
	rm -f $(MPI_MODULE)

install: install-mpi
install-mpi: $(MPI_MODULE)
	$(INSTALL) -d $(LUA_CMOD_DIR)/gdnn
	$(INSTALL) -m 755 $(MPI_MODULE) $(LUA_CMOD_DIR)/gdnn/mpi.so

# The distributed specs through the sanitizer build of check.mk, as one
# process. Open MPI keeps some memory until the process ends; the slow
# unwinder gives those allocations whole stacks, so that they can be
# told apart from gdnn's by library name and ignored.
MPI_LSAN_SUPP = $(SAN_BUILD)/mpi-lsan.supp
.PHONY: sanitize-mpi
sanitize-mpi: all $(SAN_INTERP)
	printf 'leak:%s\n' libmpi libopen-pal libopen-rte libopenblas \
	  libreadline > $(MPI_LSAN_SUPP)
	ASAN_OPTIONS=detect_leaks=1:exitcode=23:fast_unwind_on_malloc=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/$(MPI_LSAN_SUPP) \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  OPENBLAS_NUM_THREADS=1 $(SAN_INTERP) $(BUSTED) tests/mpi_spec.lua

-include $(MPI_OBJ:.o=.d)

else

$(info gdnn: no mpicc, building without MPI (gdnn.mpi needs libopenmpi-dev))

endif

# Removes what install-mpi put, whether or not this build has MPI.
.PHONY: uninstall-mpi
uninstall: uninstall-mpi
uninstall-mpi:
	rm -f $(LUA_CMOD_DIR)/gdnn/mpi.so
	rmdir $(LUA_CMOD_DIR)/gdnn 2>/dev/null || true
