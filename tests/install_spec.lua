-- Specs for installing gdnn: `make install` into a temporary prefix
-- (with and without DESTDIR), `luarocks make` into a temporary tree, and
-- then a short demo, plain lua5.4 and the two examples against each
-- installation; `make uninstall` must leave no file behind.
--
-- Each installation builds its own copy of the source tree in a
-- temporary folder, so the build folder of the checkout is never
-- touched. The cases take a while and are tagged #slow.

local helpers = require "tests.helpers"
local quote, slurp, spit = helpers.quote, helpers.slurp, helpers.spit
local sh, must = helpers.sh, helpers.must

-- Copy the source tree (tracked files and new ones git does not
-- ignore, or every file but the build outputs without git) into the
-- folder src under root; returns the copy's path.
local function copy_source(root)
  local dir = root .. "/src"
  must("mkdir -p " .. quote(dir))
  if sh("git rev-parse --is-inside-work-tree")
     :match("^true") then
    must("git ls-files -z --cached --others --exclude-standard"
         .. " | xargs -0 sh -c 'for f; do [ -e \"$f\" ] &&"
         .. " printf \"%s\\0\" \"$f\"; done' sh"
         .. " | tar --null -T - -cf - | tar -C " .. quote(dir) .. " -xf -")
  else
    must("tar --exclude=./build --exclude='./*.so' --exclude=./gdnn-lua"
         .. " --exclude=./libgdnn.a -cf - . | tar -C " .. quote(dir)
         .. " -xf -")
  end
  return dir
end

-- Every file (not folder) under dir, sorted, one a line.
local function files_under(dir)
  return sh("cd " .. quote(dir) .. " && find . ! -type d | sort")
end

-- Check that each path of the list (as find names it, "./...") is a
-- file under dir.
local function has_files(dir, list)
  local files = files_under(dir)
  for _, f in ipairs(list) do
    assert.truthy(files:find(f .. "\n", 1, true), f .. " missing")
  end
end

local DEMO = [[
local gd = require "gdnn"
gd.seed(1)
local x = gd.linspace(0, 1, 20):reshape(1, 20)
local y = x * x
local net = gd.Network{layer_node_nums = {1, 4, 1}, seed = 2}
local losses = net:train(x, y, {iterations = 300, method = "adam",
                                learning_rate = 0.05})
local progress = require "gdnn.progress"
assert(type(progress) == "table")
print(string.format("demo ok %.3g", losses[300]))
]]

-- The shell words that point lua5.4 at the Lua files of a prefix.
local function lua_env(share, lib)
  return "env -u LUA_PATH_5_4 -u LUA_CPATH_5_4 LUA_PATH="
    .. quote(share .. "/?.lua;" .. share .. "/?/init.lua;;")
    .. " LUA_CPATH=" .. quote(lib .. "/?.so;;") .. " "
end

-- Run the demo with gdnn-lua and with lua5.4, and the two examples
-- built from src (a source copy) against the installed C library
-- under cprefix.
local function check_installation(src, bin, share, lib, cprefix)
  local demo = src .. "/demo.lua"
  spit(demo, DEMO)
  local out = must("env -u LUA_PATH -u LUA_CPATH " .. quote(bin
    .. "/gdnn-lua") .. " " .. quote(demo))
  assert.truthy(out:match("demo ok"), out)
  out = must(lua_env(share, lib) .. "lua5.4 " .. quote(demo))
  assert.truthy(out:match("demo ok"), out)

  must("make -C " .. quote(src) .. " examples PREFIX=" .. quote(cprefix))
  out = must("cd " .. quote(src) .. " && examples/fit.bin")
  assert.truthy(out:match("loss [%d.e-]+ after 3000 steps"), out)
  out = must("cd " .. quote(src) .. " && examples/host.bin")
  assert.truthy(out:match("trained 2 layers on 40 samples"), out)
  assert.truthy(out:match("layer 1: W 8 values"), out)
end


describe("make install #slow", function()
  local root, src, prefix, remove

  setup(function()
    root, remove = helpers.tempdir()
    src, prefix = copy_source(root), root .. "/prefix"
    must("make -C " .. quote(src) .. " -j2 install PREFIX="
         .. quote(prefix))
  end)

  teardown(function()
    if remove then remove() end
  end)

  it("installs headers, libraries, pkg-config files, Lua files, "
     .. "gdnn-lua and its man page", function()
    has_files(prefix, {
      "./include/gdnn.h", "./include/gdnn/tensor.h",
      "./include/gdnn/lua_embed.h", "./lib/libgdnn.a",
      "./lib/libgdnn.so", "./lib/libgdnn.so.0", "./lib/libgdnn.so.0.1.0",
      "./lib/libgdnn-lua.so.0.1.0", "./lib/pkgconfig/gdnn.pc",
      "./lib/pkgconfig/gdnn-lua.pc", "./lib/lua/5.4/gdnn.so",
      "./share/lua/5.4/gdnn/help.lua", "./bin/gdnn-lua",
      "./share/man/man1/gdnn-lua.1",
    })
  end)

  it("gives libgdnn.so a soname with the major version", function()
    local out = must("objdump -p " .. quote(prefix
      .. "/lib/libgdnn.so.0.1.0") .. " | grep SONAME")
    assert.truthy(out:match("libgdnn%.so%.0%s"), out)
  end)

  it("runs a demo, lua5.4 and the examples from the prefix", function()
    check_installation(src, prefix .. "/bin", prefix .. "/share/lua/5.4",
                       prefix .. "/lib/lua/5.4", prefix)
  end)

  it("compiles the public header as C without Lua", function()
    local c = root .. "/only.c"
    spit(c, '#include <gdnn.h>\nint main(void) {\n'
         .. '  gd_tensor *t = NULL;\n  gd_error e;\n'
         .. '  size_t n = 3;\n  int ok = gd_tensor_new(&t, 1, &n, &e)'
         .. ' == GD_OK;\n  gd_tensor_free(t);\n  return ok ? 0 : 1;\n}\n')
    must("cd " .. quote(root) .. " && PKG_CONFIG_PATH=" .. quote(prefix
      .. "/lib/pkgconfig") .. " cc -std=c11 -Wall -Werror only.c"
      .. " $(PKG_CONFIG_PATH=" .. quote(prefix .. "/lib/pkgconfig")
      .. " pkg-config --cflags --libs gdnn) -Wl,-rpath," .. quote(prefix
      .. "/lib") .. " -o only && ./only")
  end)

  it("embeds: wrapped arrays are shared, bad reads are clean errors",
     function()
    local c = root .. "/embed.c"
    spit(c, [[
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include <gdnn.h>
#include <gdnn/lua_embed.h>

static int released = 0;
static void release(void *ud) { released = *(int *)ud; }

int main(void) {
  static double data[6] = {1, 2, 3, 4, 5, 6};
  double back[6];
  size_t shape[2] = {2, 3};
  int tag = 7;
  gd_error err;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_pushcfunction(L, gd_lua_open);
  if (lua_pcall(L, 0, 1, 0)) return 1;
  lua_setglobal(L, "gd");
  if (gd_lua_push_array(L, data, 2, shape, release, &tag, &err)) return 2;
  lua_setglobal(L, "t");
  if (luaL_dostring(L, "t:mul(10, t); u = t:sum(); v = require('gdnn')"
                       " == gd")) return 3;
  lua_getglobal(L, "t");
  if (gd_lua_read(L, -1, back, 6, &err) || back[5] != 60 || data[0] != 10)
    return 4;
  printf("%s\n", gd_lua_read(L, -1, back, 5, &err) == GD_ERR_SHAPE
         ? err.msg : "no shape error");
  lua_pushinteger(L, 3);
  printf("%s\n", gd_lua_read(L, -1, back, 1, &err) == GD_ERR_ARG
         ? err.msg : "no type error");
  printf("%s\n", gd_lua_push_array(L, NULL, 1, shape, NULL, NULL, &err)
         == GD_ERR_ARG ? err.msg : "no null error");
  printf("%d\n", gd_lua_totensor(L, -1) == NULL);
  lua_close(L);
  printf("released %d\n", released);
  return 0;
}
]])
    local pc = "PKG_CONFIG_PATH=" .. quote(prefix .. "/lib/pkgconfig")
    local out = must("cd " .. quote(root) .. " && cc -std=c11 -Wall"
      .. " -Werror embed.c $(" .. pc .. " pkg-config --cflags --libs"
      .. " gdnn-lua) -Wl,-rpath," .. quote(prefix .. "/lib")
      .. " -o embed && ./embed")
    assert.equal("read: tensor of shape 2x3 has 6 elements, buffer holds"
      .. " 5\nread: expected a tensor, got number\npush_array: data is"
      .. " NULL\n1\nreleased 7\n", out)
  end)

  it("uninstalls exactly what it installed", function()
    must("make -C " .. quote(src) .. " uninstall PREFIX=" .. quote(prefix))
    assert.equal("", files_under(prefix))
    assert.falsy(sh("test -d " .. quote(prefix .. "/include/gdnn"))
                 :match("."), "include/gdnn stays")
  end)

  it("installs and uninstalls under DESTDIR", function()
    local stage = root .. "/stage"
    must("make -C " .. quote(src) .. " install-lib install-lua"
         .. " PREFIX=/opt/gdnn DESTDIR=" .. quote(stage))
    local files = files_under(stage)
    assert.truthy(files:find("./opt/gdnn/bin/gdnn-lua\n", 1, true), files)
    assert.truthy(slurp(stage .. "/opt/gdnn/lib/pkgconfig/gdnn.pc")
                  :match("prefix=/opt/gdnn\n"))
    must("make -C " .. quote(src) .. " uninstall PREFIX=/opt/gdnn DESTDIR="
         .. quote(stage))
    assert.equal("", files_under(stage))
  end)
end)


describe("luarocks make #slow", function()
  local root, src, tree, remove

  setup(function()
    root, remove = helpers.tempdir()
    src, tree = copy_source(root), root .. "/tree"
    must("cd " .. quote(src) .. " && luarocks make --lua-version 5.4"
         .. " --tree " .. quote(tree))
  end)

  teardown(function()
    if remove then remove() end
  end)

  it("installs the module, the Lua files and gdnn-lua in the tree",
     function()
    has_files(tree, {
      "./lib/lua/5.4/gdnn.so", "./share/lua/5.4/gdnn/help.lua",
      "./bin/gdnn-lua",
    })
  end)

  it("works with the paths luarocks path gives", function()
    local out = must("eval \"$(luarocks --lua-version 5.4 --tree "
      .. quote(tree) .. " path)\" && lua5.4 -e 'local gd = require"
      .. " \"gdnn\"; print(gd.ones(2):sum(), require \"gdnn.help\""
      .. " ~= nil)'")
    assert.truthy(out:match("2%.?0?%s+true"), out)
  end)

  it("runs a demo, lua5.4 and the examples from the tree", function()
    local rock = must("luarocks --lua-version 5.4 --tree " .. quote(tree)
      .. " show --rock-dir gdnn"):gsub("%s+$", "")
    check_installation(src, tree .. "/bin", tree .. "/share/lua/5.4",
                       tree .. "/lib/lua/5.4", rock .. "/c")
  end)

  it("names libopenblas-dev when OpenBLAS cannot be found", function()
    local cfg = root .. "/no-blas.lua"
    spit(cfg, 'variables = { ["libopenblas-dev_DIR"] = "/nonexistent" }\n'
         .. 'external_deps_dirs = { "/nonexistent" }\n')
    local out, ok = sh("cd " .. quote(src) .. " && LUAROCKS_CONFIG="
      .. quote(cfg) .. " luarocks make --lua-version 5.4 --tree "
      .. quote(root .. "/tree2"))
    assert.is_false(ok)
    assert.truthy(out:match("install libopenblas%-dev"), out)
  end)
end)
