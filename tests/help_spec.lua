-- Specs for gdnn.help and for help(x), ?x and Tab completion in
-- gdnn-lua's REPL. The list of names that must have help is found by
-- walking the module table, the Tensor methods, the classes' methods
-- and the Lua modules, so a new public function cannot be forgotten.
-- The REPL cases run gdnn-lua in a pseudo terminal made by script(1).

local gd = require "gdnn"
local help = require "gdnn.help"

local GDNN_LUA = os.getenv("GDNN_LUA") or "./gdnn-lua"

local helpers = require "tests.helpers"
local quote, slurp, spit = helpers.quote, helpers.slurp, helpers.spit


-- The tables a metatable's __index reaches: a table, or the tables
-- among the upvalues of an __index function, followed a few levels.
local function index_tables(index, found, depth)
  found = found or {}
  depth = depth or 0
  if type(index) == "table" then
    found[#found + 1] = index
  elseif type(index) == "function" and depth < 4 then
    for i = 1, 8 do
      local name, v = debug.getupvalue(index, i)
      if name == nil then break end
      index_tables(v, found, depth + 1)
    end
  end
  return found
end


-- Whether the key k names a public field: a string without a leading
-- underscore.
local function public(k)
  return type(k) == "string" and not k:match("^_")
end


-- The method names of a userdata's class, without the Tensor methods
-- it inherits (rawpairs: a class table falls back to them).
local function class_methods(obj, tensor_methods)
  local mt = getmetatable(obj)
  local names = {}
  local tables = index_tables(rawget(mt, "__index"))
  if type(rawget(mt, "methods")) == "table" then
    tables[#tables + 1] = rawget(mt, "methods")
  end
  for _, t in ipairs(tables) do
    if t ~= tensor_methods then
      for k, v in next, t do
        if public(k) and type(v) == "function" then
          names[k] = true
        end
      end
    end
  end
  return names
end


local function tensor_methods()
  return index_tables(getmetatable(gd.zeros(1)).__index)[1]
end


-- Check that the list of names without help is empty; a failure shows
-- the names, sorted.
local function none_missing(missing)
  table.sort(missing)
  assert.same({}, missing)
end


describe("gdnn.help", function()
  it("has a text for every function and table of the module", function()
    local missing = {}
    for k, v in pairs(gd) do
      if public(k) then
        if not help.text("gdnn." .. k) then missing[#missing + 1] = k end
        if type(v) == "table" then
          for k2 in pairs(v) do
            local name = "gdnn." .. k .. "." .. k2
            if not help.text(name) then missing[#missing + 1] = name end
          end
        end
      end
    end
    none_missing(missing)
  end)

  it("has a text for every Tensor method", function()
    local methods = tensor_methods()
    assert.is_table(methods)
    local missing = {}
    for k in pairs(methods) do
      if not help.method_text("Tensor", k) then
        missing[#missing + 1] = k
      end
    end
    none_missing(missing)
  end)

  it("has a text for every method of GradientDescent, TensorJacobian "
     .. "and Network", function()
    local objects = {
      GradientDescent = gd.GradientDescent{1, 2},
      TensorJacobian = gd.TensorJacobian(gd.eye(2), {2}, {2}),
      Network = gd.Network{layer_node_nums = {1, 2, 1}},
    }
    local missing, count = {}, 0
    for class, obj in pairs(objects) do
      assert.truthy(help.text(class), class)
      for m in pairs(class_methods(obj, tensor_methods())) do
        count = count + 1
        if not help.method_text(class, m) then
          missing[#missing + 1] = class .. ":" .. m
        end
      end
    end
    none_missing(missing)
    assert.is_true(count >= 7)
  end)

  it("has a text for every public name of the Lua modules", function()
    local missing = {}
    for _, mod in ipairs{"datasets", "plot", "progress", "demo"} do
      local t = require("gdnn." .. mod)
      assert.truthy(help.text("gdnn." .. mod), mod)
      for k in pairs(t) do
        if public(k) then
          local name = "gdnn." .. mod .. "." .. k
          if not help.text(name) then missing[#missing + 1] = name end
        end
      end
    end
    none_missing(missing)
  end)

  it("gives each text a call form, a paragraph and an example within "
     .. "80 columns", function()
    for _, name in ipairs(help.names()) do
      local text = help.text(name)
      local sig, para, example =
        text:match("^([^\n]+)\n(.-)\n  Example:\n(    .+)$")
      assert.truthy(sig, name)
      assert.truthy(#para > 20, name)
      assert.truthy(example, name)
      for line in text:gmatch("[^\n]+") do
        assert.truthy(#line <= 80, name .. ": " .. line)
      end
    end
  end)

  it("finds a text by value, by name and by method form", function()
    assert.equal("gdnn.einsum", help.lookup(gd.einsum))
    assert.equal("gdnn.einsum", help.lookup("gd.einsum"))
    assert.equal("gdnn.einsum", help.lookup("einsum"))
    assert.equal("gdnn.reshape", help.lookup("t:reshape"))
    assert.equal("GradientDescent:step", help.lookup("x:step"))
    assert.equal("Tensor", help.lookup(gd.zeros(2)))
    assert.equal("gdnn.loss.mse", help.lookup(gd.loss.mse))
    assert.is_nil(help.lookup("no_such_name"))
    assert.is_nil(help.text({}))
  end)

  it("prints the text, or says there is none", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    help.help(gd.linspace, f)
    help.help("nonsense", f)
    help.help(nil, f)
    f:close()
    local out = slurp(path)
    os.remove(path)
    assert.truthy(out:find("gd.linspace(a, b [, n])", 1, true))
    assert.truthy(out:find("no help for nonsense", 1, true))
    assert.truthy(out:find("help(x) or ?x", 1, true))
  end)

  it("matches the committed docs/api.md", function()
    local path = os.tmpname()
    assert.is_true(os.execute("tools/make-api-doc " .. quote(path)))
    local made = slurp(path)
    os.remove(path)
    assert.equal(slurp("docs/api.md"), made)
  end)
end)


-- Type input into gdnn-lua's REPL through a pseudo terminal; returns
-- what the terminal showed, with carriage returns removed.
local function repl(input)
  local home, remove = helpers.tempdir()
  local inp, out = os.tmpname(), os.tmpname()
  spit(inp, input .. "\4")
  os.execute("HOME=" .. quote(home) .. " TERM=dumb script -qec "
    .. quote(GDNN_LUA) .. " /dev/null <" .. quote(inp) .. " >"
    .. quote(out) .. " 2>&1")
  local text = slurp(out):gsub("\r", "")
  os.remove(inp)
  os.remove(out)
  remove()
  return text
end


-- Check that the REPL's text out holds each of the plain strings that
-- follow it (out is shown when one is missing).
local function shows(out, ...)
  for _, text in ipairs{...} do
    assert.truthy(out:find(text, 1, true), out)
  end
end


describe("gdnn-lua's REPL in a terminal", function()
  it("completes a module function with Tab", function()
    shows(repl("gd.linsp\t(0, 1, 3)\n"),
          "> gd.linspace(0, 1, 3)", "[0.0 0.5 1.0]")
  end)

  it("completes a tensor method after ':'", function()
    shows(repl("t = gd.arange(6)\nt:resh\t(2, 3):shape()[2]\n"),
          "t:reshape(2, 3)", "\n3\n")
  end)

  it("prints help for ?name and help(value)", function()
    shows(repl("?gd.zeros\nhelp(gd.eye)\n? t:narrow\n"),
          "gd.zeros(d1, d2, ...)", "gd.eye(n [, m])",
          "t:narrow(dim, start, len)", "Example:")
  end)

  it("completes after '?'", function()
    shows(repl("?gd.linsp\t\n"), "gd.linspace(a, b [, n])")
  end)

  it("says when a name has no help", function()
    shows(repl("?frobnicate\n"), "no help for frobnicate")
  end)
end)
