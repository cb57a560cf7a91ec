# check.mk: memory and robustness checks.
#
#   make sanitize   core, binding and gdnn-lua built with AddressSanitizer
#                   and UndefinedBehaviorSanitizer under build-sanitize/,
#                   then every spec run through that gdnn-lua; any error
#                   or leak fails
#   make memcheck   the specs in MEMCHECK_SPECS run through gdnn-lua under
#                   valgrind: no errors, no definite leaks
#   make fuzz       each libFuzzer harness of fuzz/ (built with clang
#                   under build-fuzz/) run FUZZ_SECONDS seconds from its
#                   seed corpus fuzz/corpus/<harness>/
#
# Limits: sanitize and memcheck run the specs through gdnn-lua only, not
# through plain lua5.4 (which would need the sanitizer runtime preloaded);
# memcheck runs the specs that exercise the C code and leaves out the
# slow whole-demo and interpreter specs; OpenBLAS runs one thread under
# both.

SAN_BUILD = build-sanitize
SAN_CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
SAN_CORE_OBJ := $(CORE_SRC:src/%.c=$(SAN_BUILD)/%.o)
SAN_BIND_OBJ := $(BIND_SRC:src/%.c=$(SAN_BUILD)/%.o)
SAN_INTERP = $(SAN_BUILD)/gdnn-lua
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:exitcode=23 \
          LSAN_OPTIONS=suppressions=$(CURDIR)/mk/lsan.supp \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
          OPENBLAS_NUM_THREADS=1

MEMCHECK_SPECS ?= tests/tensor_spec.lua tests/einsum_spec.lua \
                  tests/descent_spec.lua tests/jacobian_spec.lua \
                  tests/network_spec.lua tests/io_spec.lua \
                  tests/badinput_spec.lua tests/alloc_spec.lua \
                  tests/hessian_spec.lua tests/format_spec.lua
VALGRIND = valgrind --quiet --error-exitcode=24 --leak-check=full \
           --errors-for-leak-kinds=definite --show-leak-kinds=definite \
           --suppressions=$(CURDIR)/mk/valgrind.supp

FUZZ_BUILD = build-fuzz
FUZZ_SECONDS ?= 60
# A fixed seed makes a CI run repeatable; FUZZ_SEED=0 picks a random one.
FUZZ_SEED ?= 1
FUZZ_CC = clang
FUZZ_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 \
              -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all $(BLAS_CFLAGS) $(LUA_CFLAGS) -Isrc
FUZZERS = einsum loaders nested

.PHONY: sanitize memcheck fuzz fuzz-build

$(SAN_BUILD)/%.o: src/%.c $(BUILD)/flags | deps
	@mkdir -p $(SAN_BUILD)
	$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) -c $< -o $@

$(SAN_BUILD)/gdnn_lua.o: ALL_CFLAGS += -DGDNN_VERSION='"$(VERSION)"' \
  -DGDNN_LUADIR='"$(PREFIX)/share/lua/$(LUA_VERSION)"'

$(SAN_INTERP): $(SAN_BUILD)/gdnn_lua.o $(SAN_BIND_OBJ) $(SAN_CORE_OBJ)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(LUA_LIBS) -lreadline $(LDLIBS) \
	  -Wl,-E -ldl

# The specs that start ./gdnn-lua themselves (the interpreter, the demos,
# a killed writer) use the plain build, so it is made first.
# The sanitizer build lives outside the source tree's top, so it is told
# where the Lua modules are. Open MPI keeps memory until exit, so the
# distributed specs run apart, with their own suppressions (mpi.mk).
sanitize: all $(SAN_INTERP)
	$(SAN_ENV) GDNN_LUA=$(SAN_INTERP) \
	  LUA_PATH='$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;' \
	  $(SAN_INTERP) $(BUSTED) --exclude-pattern=mpi_spec
	[ ! -f gdnn/mpi.so ] || $(MAKE) sanitize-mpi

memcheck: all
	OPENBLAS_NUM_THREADS=1 $(VALGRIND) ./$(INTERP) $(BUSTED) \
	  $(MEMCHECK_SPECS)

$(FUZZ_BUILD)/%_fuzz: fuzz/%_fuzz.c $(CORE_SRC) $(BIND_SRC) | deps
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) \
	  $(if $(filter nested,$*),$(BIND_SRC) $(LUA_LIBS)) $(LDLIBS)

fuzz-build: $(FUZZERS:%=$(FUZZ_BUILD)/%_fuzz)

# New inputs go to build-fuzz/corpus-<h>/, the seeds stay as they are;
# a crash leaves its input under build-fuzz/ and fails the target.
fuzz: fuzz-build
	@for h in $(FUZZERS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$h; \
	  echo "== fuzz $$h for $(FUZZ_SECONDS) s"; \
	  OPENBLAS_NUM_THREADS=1 $(FUZZ_BUILD)/$${h}_fuzz \
	    -max_total_time=$(FUZZ_SECONDS) -seed=$(FUZZ_SEED) \
	    -print_final_stats=0 \
	    -artifact_prefix=$(FUZZ_BUILD)/$$h- \
	    $(FUZZ_BUILD)/corpus-$$h fuzz/corpus/$$h || exit 1; \
	done
