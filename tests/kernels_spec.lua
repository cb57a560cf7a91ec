-- Specs for the element kernels behind gd.tanh, gd.sigmoid and the tanh
-- and sigmoid activations: within a few ulp of the C library's tanh and
-- of the correctly rounded sigmoid, over tiny, huge and negative inputs,
-- with NaN and the infinities handled.
local gd = require "gdnn"
local ref = dofile("tests/data/kernels_ref.lua")

-- The distance from y to the next double away from zero.
local function ulp(y)
  y = math.abs(y)
  local bits = string.unpack("<i8", string.pack("<d", y))
  return string.unpack("<d", string.pack("<i8", bits + 1)) - y
end

-- The largest error of got[i] against want[i], in ulps of want[i].
local function max_ulps(got, want)
  local worst = 0
  for i = 1, #want do
    local e = math.abs(got[i] - want[i]) / ulp(want[i])
    if e > worst then worst = e end
  end
  return worst
end

local function column(k)
  local t = {}
  for i, row in ipairs(ref) do t[i] = row[k] end
  return t
end

describe("the element kernels", function()
  local xs = gd.tensor(column(1))

  it("give tanh within 4 ulp of the C library's", function()
    assert.is_true(max_ulps(gd.tanh(xs):totable(), column(2)) <= 4)
  end)

  it("give sigmoid within 2 ulp of the correctly rounded value", function()
    assert.is_true(max_ulps(gd.sigmoid(xs):totable(), column(3)) <= 2)
  end)

  it("keep the sign of zero, pass NaN and saturate at the infinities",
    function()
      local inf = math.huge
      local t = gd.tanh(gd.tensor({0.0, -0.0, inf, -inf, 0 / 0}))
        :totable()
      assert.equal("0.0", tostring(t[1]))
      assert.equal("-0.0", tostring(t[2]))
      assert.same({1, -1}, {t[3], t[4]})
      assert.is_true(t[5] ~= t[5])
      local s = gd.sigmoid(gd.tensor({inf, -inf, 0 / 0, 0})):totable()
      assert.same({1, 0, 0.5}, {s[1], s[2], s[4]})
      assert.is_true(s[3] ~= s[3])
    end)

  it("give the same values on strided views as on flat ones", function()
    local x = gd.tensor({{-3, 0.5}, {1e-9, 25}})
    local xt = x:transpose()
    assert.same(gd.tanh(x):transpose():totable(), gd.tanh(xt):totable())
    assert.same(gd.sigmoid(x):transpose():totable(),
                gd.sigmoid(xt):totable())
  end)

  it("give the activations the same values as gd.tanh and gd.sigmoid",
    function()
      local A = gd.ActivationFunctions
      local z = gd.tensor({{-2, -0.1, 0}, {0.3, 4, 30}})
      assert.same(gd.tanh(z):totable(), A.tanh.f(z):totable())
      assert.same(gd.sigmoid(z):totable(), A.sigmoid.f(z):totable())
    end)
end)
