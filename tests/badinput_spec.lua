-- Table-driven bad-argument specs for every Lua-visible function and
-- method, derived from tests/signatures.lua: a wrong type for each
-- parameter, too few arguments, too many, out-of-range dimensions and
-- indices, mismatched shapes and NaN or infinite values. Each must be a
-- Lua error naming the function and the argument (and both shapes for
-- shapes), never a crash.

local gd = require "gdnn"
local sig = require "tests.signatures"

local function escape(s)
  return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- A value of the wrong kind for a parameter of kind k.
local wrong = {
  ["tensor"] = true, ["tensor!"] = "x", int = "x", num = "x", str = {},
  fn = 1, opts = 1, jac = "x",
}

local function base(kind) return (kind:gsub("%?$", "")) end
local function short(name) return name:match("([^.]+)$") end
local function unpack_n(t) return table.unpack(t, 1, t.n or #t) end

-- Call f with args, expecting an error matching every pattern.
local function expect_error(f, args, patterns)
  local ok, msg = pcall(f, unpack_n(args))
  assert.is_false(ok, "no error for " .. table.concat(patterns, ", "))
  assert.is_string(msg)
  for _, p in ipairs(patterns) do
    assert.matches(p, msg, 1, false)
  end
end

local function with(args, p, v)
  local a = {n = math.max(#args, p)}
  for i = 1, a.n do a[i] = args[i] end
  a[p] = v
  return a
end

describe("the signature list", function()
  local listed = {}
  for _, s in ipairs(sig.functions) do listed[s[1]] = true end
  local listed_methods = {}
  for _, s in ipairs(sig.methods) do
    listed_methods[s[1] .. ":" .. s[2]] = true
  end

  local function missing_in(t, prefix, out)
    for k, v in pairs(t) do
      if type(v) == "function" and not listed[prefix .. k] then
        out[#out + 1] = prefix .. k
      end
    end
  end

  it("names every function of the module", function()
    local missing = {}
    missing_in(gd, "", missing)
    missing_in(gd.loss, "loss.", missing)
    missing_in(gd.ActivationFunctions, "ActivationFunctions.", missing)
    table.sort(missing)
    assert.same({}, missing)
  end)

  it("names every tensor method", function()
    local missing = {}
    missing_in(debug.getregistry()["gdnn.Tensor.methods"], "", missing)
    assert.same({}, missing)
  end)

  it("names every method of the other classes", function()
    local reg, missing = debug.getregistry(), {}
    local function check(cls, t)
      for k, v in pairs(t) do
        if type(v) == "function" and not listed_methods[cls .. ":" .. k] then
          missing[#missing + 1] = cls .. ":" .. k
        end
      end
    end
    for _, cls in ipairs{"gdnn.GradientDescent", "gdnn.TensorJacobian"} do
      -- __index keeps the tensor class's __index, which keeps the
      -- class's own methods
      local _, inner = debug.getupvalue(reg[cls].__index, 1)
      local _, own = debug.getupvalue(inner, 1)
      check(cls, own)
    end
    check("gdnn.Network", reg["gdnn.Network"].methods)
    table.sort(missing)
    assert.same({}, missing)
  end)
end)

-- A function that calls gd.<name> by its field name, as user code does,
-- so that Lua knows the name an error should show.
local function caller_of(t, name)
  local chunk = "local gd = ...\n" ..
    "return function(...)\n" ..
    "  local r = table.pack(gd." .. name .. "(...))\n" ..
    "  return table.unpack(r, 1, r.n)\n" ..
    "end"
  return assert(load(chunk))(t)
end

local function caller(name) return caller_of(gd, name) end

describe("every function", function()
  for _, s in ipairs(sig.functions) do
    local name, kinds, valid = s[1], s[2], s[3]
    local f = caller(name)
    local fname = escape(short(name))

    describe(name, function()
      it("accepts its valid arguments", function()
        local ok, msg = pcall(f, table.unpack(valid()))
        assert.is_true(ok, msg)
      end)

      for p, kind in ipairs(kinds) do
        if base(kind) ~= "any" then
          it("refuses a wrong type as argument " .. p, function()
            expect_error(f, with(valid(), p, wrong[base(kind)]),
                         {"bad argument #" .. p .. " to '" .. fname .. "'"})
          end)
        end
      end

      if kinds[1] and not kinds[1]:match("%?$") and kinds[1] ~= "any" then
        it("refuses to be called without arguments", function()
          expect_error(f, {n = 0}, {"bad argument #1 to '" .. fname .. "'"})
        end)
      end

      it("never crashes on extra arguments", function()
        local a = valid()
        local n = #kinds + 1
        local args = with(a, n + 2, true)
        args[n], args[n + 1] = "extra", {}
        local ok, msg = pcall(f, unpack_n(args))
        assert.is_true(ok or type(msg) == "string")
      end)
    end)
  end
end)

describe("every method", function()
  for _, s in ipairs(sig.methods) do
    local cls, name, kinds, new, valid = s[1], s[2], s[3], s[4], s[5]
    describe(cls .. ":" .. name, function()
      -- obj:name(...) written out, so that Lua counts arguments as for
      -- a method and knows the name
      local chunk = "local new = ...\n" ..
        "return function(...)\n" ..
        "  local obj = new()\n" ..
        "  local r = table.pack(obj:" .. name .. "(...))\n" ..
        "  return table.unpack(r, 1, r.n)\n" ..
        "end"
      local call = assert(load(chunk))(new)

      it("accepts its valid arguments", function()
        local ok, msg = pcall(call, table.unpack(valid()))
        assert.is_true(ok, msg)
      end)

      for p, kind in ipairs(kinds) do
        if base(kind) ~= "any" then
          it("refuses a wrong type as argument " .. p, function()
            expect_error(call, with(valid(), p, wrong[base(kind)]),
                         {"bad argument #" .. p .. " to '" .. name .. "'"})
          end)
        end
      end

      it("refuses a self of the wrong kind", function()
        local obj = new()
        local f = caller_of({[name] = obj[name]}, name)
        expect_error(f, {gd.zeros(2), table.unpack(valid())},
                     {"bad argument #1 to '" .. name .. "'"})
      end)
    end)
  end
end)

-- Cases beyond types: each is {description, function, args, patterns}.
local m23 = function() return gd.randn(2, 3) end
local cases = {
  {"select past the end of a dimension", "select",
   {m23(), 2, 4}, {"bad argument #3 to 'select'", "index 4 out of range"}},
  {"a dimension out of range", "sum",
   {m23(), 3}, {"bad argument #2 to 'sum'", "2x3"}},
  {"a negative dimension out of range", "transpose",
   {m23(), -3, 1}, {"bad argument #2 to 'transpose'", "2x3"}},
  {"narrow past the end", "narrow",
   {m23(), 2, 2, 5}, {"bad argument #%d to 'narrow'", "out of range"}},
  {"unsqueeze past ndim + 1", "unsqueeze",
   {m23(), 4}, {"bad argument #2 to 'unsqueeze'"}},
  {"size of a missing dimension", "size",
   {m23(), 5}, {"bad argument #2 to 'size'", "2x3"}},
  {"a permutation that repeats", "permute",
   {m23(), 1, 1}, {"bad argument #%d to 'permute'"}},
  {"reshape to another count", "reshape",
   {m23(), 4, 2}, {"bad argument #%d to 'reshape'", "2x3", "4x2"}},
  {"expand to an incompatible shape", "expand",
   {gd.randn(3), 2, 4}, {"bad argument #%d to 'expand'", "3", "2x4"}},
  {"add of shapes that do not broadcast", "add",
   {m23(), gd.randn(4, 5)}, {"bad argument #%d to 'add'", "2x3", "4x5"}},
  {"an out tensor of the wrong shape", "exp",
   {m23(), gd.zeros(3, 2)}, {"bad argument #2 to 'exp'", "2x3", "3x2"}},
  {"matmul of mismatched inner sizes", "matmul",
   {m23(), m23()}, {"bad argument #%d to 'matmul'", "2x3"}},
  {"copy from a shape that does not broadcast", "copy",
   {m23(), gd.randn(4)}, {"bad argument #2 to 'copy'", "2x3", "4"}},
  {"axpby of mismatched shapes", "axpby",
   {1, m23(), 1, gd.randn(3, 2), m23()},
   {"bad argument #%d to 'axpby'", "2x3", "3x2"}},
  {"einsum whose operand has the wrong rank", "einsum",
   {"ijk->i", m23()}, {"bad argument #2 to 'einsum'", "2 dims"}},
  {"einsum whose sizes disagree", "einsum",
   {"ij,ij->", m23(), gd.randn(3, 2)},
   {"bad argument #%d to 'einsum'", "2x3", "3x2"}},
  {"a step whose gradient has another shape", "gradient_descent_step",
   {gd.GradientDescent{1, 2}, {1, 2, 3}},
   {"bad argument #2 to 'gradient_descent_step'", "2", "3"}},
  {"mse of mismatched shapes", "loss.mse",
   {m23(), gd.randn(3, 2)}, {"bad argument #%d to 'mse'", "2x3", "3x2"}},
  {"a zeros size that is not an integer", "zeros",
   {2.5}, {"bad argument #1 to 'zeros'"}},
  {"a negative size", "ones",
   {2, -1}, {"bad argument #2 to 'ones'", "negative"}},
  {"an infinite size", "zeros",
   {math.huge}, {"bad argument #1 to 'zeros'"}},
  {"a NaN size", "randn",
   {0 / 0}, {"bad argument #1 to 'randn'"}},
  {"an infinite arange", "arange",
   {0, math.huge}, {"bad argument #2 to 'arange'", "finite"}},
  {"a NaN arange step", "arange",
   {0, 1, 0 / 0}, {"bad argument #3 to 'arange'", "finite"}},
  {"a NaN linspace count", "linspace",
   {0, 1, 0 / 0}, {"bad argument #3 to 'linspace'"}},
  {"a NaN learning rate", "gradient_descent_step",
   {gd.GradientDescent{1}, {1}, {learning_rate = 0 / 0}},
   {"bad argument #3 to 'gradient_descent_step'", "learning_rate"}},
  {"an infinite momentum", "gradient_descent_step",
   {gd.GradientDescent{1}, {1}, {momentum = math.huge}},
   {"bad argument #3 to 'gradient_descent_step'", "momentum"}},
  {"a NaN tolerance", "gradient_descent_from_function",
   {function(x) return x:sum() end, nil, {x0 = {1}, tolerance = 0 / 0}},
   {"bad argument #3 to 'gradient_descent_from_function'", "tolerance"}},
  {"a closed tensor", function()
     local t = gd.zeros(2)
     getmetatable(t).__close(t)
     return t:sum()
   end, {}, {"tensor has been closed"}},
}

describe("out-of-range, mismatched and non-finite arguments", function()
  for _, c in ipairs(cases) do
    it("give an error for " .. c[1], function()
      local f = type(c[2]) == "string" and caller(c[2]) or c[2]
      expect_error(f, c[3], c[4])
    end)
  end
end)
