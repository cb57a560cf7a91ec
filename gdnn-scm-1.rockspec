-- gdnn-scm-1.rockspec: builds gdnn with its Makefile (the "make" build
-- type, so no network is needed) and installs the gdnn module, the Lua
-- modules under lua/gdnn and the gdnn-lua interpreter for Lua 5.4:
--
--   luarocks make --lua-version 5.4 --tree <tree>
--
-- The C library, its headers and pkg-config files go to c/ in the rock's
-- own folder (luarocks show --rock-dir gdnn), for `make examples
-- PREFIX=<that folder>/c`.

rockspec_format = "3.0"
package = "gdnn"
version = "scm-1"

source = {
  url = "git+https://github.com/gdnn/gdnn.git",
  branch = "main",
}

description = {
  summary = "Tensors, einsum, gradient descent and neural networks",
  detailed = [[
gdnn is a small engine for gradient descent and tensor-calculus neural
networks: a C11 core of n-d float64 tensors (strided views, NumPy
broadcasting), a NumPy-compatible einsum on OpenBLAS, a GradientDescent
optimiser, TensorJacobian, activations and a multilayer perceptron,
scripted from Lua 5.4 through require "gdnn" or the gdnn-lua
interpreter. Building needs the Debian packages libopenblas-dev,
liblua5.4-dev, libreadline-dev and pkg-config.
]],
  homepage = "https://github.com/gdnn/gdnn",
  license = "MIT",
  labels = {"tensor", "einsum", "neural-network", "optimization"},
}

supported_platforms = {"linux"}

dependencies = {
  "lua >= 5.4, < 5.5",
}

-- OpenBLAS, named by its Debian package so that luarocks names it when
-- it is missing ("Could not find library file for libopenblas-dev").
-- Debian keeps cblas.h in a multiarch folder that luarocks does not
-- search, so only the library is looked for here; the Makefile names
-- the package of a missing header itself.
external_dependencies = {
  ["libopenblas-dev"] = {
    library = "openblas",
  },
}

build = {
  type = "make",
  build_target = "all",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    PREFIX = "$(PREFIX)",
  },
  install_target = "install-rock",
  install_variables = {
    PREFIX = "$(PREFIX)",
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
    INST_BINDIR = "$(BINDIR)",
  },
  copy_directories = {"doc", "examples"},
}
