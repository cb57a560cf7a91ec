-- Specs of the gdnn module as a whole: loading it, what it holds, and
-- tensor classes other than gdnn.Tensor behaving as tensors.

local gd = require "gdnn"

-- The message of the error that f raises, without its position.
local function message(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "expected an error")
  return (tostring(err):gsub("^[^:\n]*:%d+: ", ""))
end

describe("require 'gdnn'", function()
  it("gives a table, the same one every time", function()
    assert.equal("table", type(gd))
    assert.equal(gd, require "gdnn")
    assert.equal(gd, package.loaded.gdnn)
  end)

  it("names its version", function()
    assert.equal("string", type(gd._VERSION))
    assert.truthy(gd._VERSION:find("^gdnn"))
  end)

  it("holds the tensor functions", function()
    local names = {
      "tensor", "Tensor", "zeros", "ones", "full", "eye", "arange",
      "linspace", "rand", "randn", "seed", "istensor", "matmul", "add",
      "sub", "mul", "div", "pow", "exp", "log", "sqrt", "abs", "sin",
      "cos", "tan", "tanh", "sigmoid", "relu", "sign", "floor", "ceil",
      "sum", "mean", "max", "min", "argmax", "norm", "prod", "reshape",
      "view", "transpose", "permute", "narrow", "select", "expand",
      "squeeze", "unsqueeze", "contiguous", "clone", "copy", "fill",
      "set_printoptions", "axpby",
    }
    for _, name in ipairs(names) do
      assert.equal("function", type(gd[name]), name)
    end
  end)

  it("holds the functions of the other bindings", function()
    assert.equal("function", type(gd.einsum))
    assert.equal("function", type(gd.GradientDescent))
  end)

  it("makes userdata of metatable gdnn.Tensor", function()
    local t = gd.zeros(2)
    assert.equal("userdata", type(t))
    assert.equal("gdnn.Tensor", getmetatable(t).__name)
    assert.equal(getmetatable(t), getmetatable(gd.ones(3, 3)))
  end)

  it("refuses userdata that are not tensors", function()
    assert.equal("bad argument #1 to 'sum' (tensor, number or table "
      .. "expected, got FILE*)", message(function() gd.sum(io.stdout) end))
    assert.equal("bad argument #1 to 'shape' (tensor expected, got FILE*)",
      message(function() gd.shape(io.stdout) end))
  end)
end)

describe("gdnn.axpby", function()
  it("updates out to alpha a + beta b in place", function()
    local x = gd.tensor{1, 2}
    assert.equal(x, gd.axpby(1, x, -0.5, gd.tensor{2, 2}, x))
    assert.same({0, 1}, x:totable())
  end)

  it("names the argument at fault", function()
    assert.equal("bad argument #4 to 'axpby' (shapes 2 and 3 cannot be "
      .. "broadcast)", message(function()
        gd.axpby(1, gd.zeros(2), 1, gd.zeros(3), gd.zeros(2))
      end))
    assert.equal("bad argument #5 to 'axpby' (out has shape 3, the result "
      .. "has shape 2)", message(function()
        gd.axpby(1, gd.zeros(2), 1, gd.zeros(2), gd.zeros(3))
      end))
  end)
end)

describe("a tensor class made with lgd_newtensorclass", function()
  -- gdnn.GradientDescent is such a class: its data is the variable.
  local function make() return gd.GradientDescent(gd.tensor{1, 2, 3}) end

  it("is a tensor to every tensor function", function()
    local x = make()
    assert.is_true(gd.istensor(x))
    assert.equal("gdnn.GradientDescent", getmetatable(x).__name)
    assert.same({3}, x:shape())
    assert.equal(3, #x)
    assert.equal(2, x[2])
    assert.equal(6, x:sum())
    assert.equal(6, gd.sum(x))
    assert.same({3, 1}, x:reshape(3, 1):shape())
  end)

  it("gives plain Tensors from arithmetic", function()
    local x = make()
    local y = x + 1
    assert.equal("gdnn.Tensor", getmetatable(y).__name)
    assert.same({2, 3, 4}, y:totable())
    assert.equal("gdnn.Tensor", getmetatable(-x).__name)
    assert.equal("gdnn.Tensor", getmetatable(x:exp()).__name)
  end)

  it("is written through indexing and into forms", function()
    local x = make()
    x[1] = 5
    gd.mul(x, 2, x)
    assert.same({10, 4, 6}, x:totable())
  end)

  it("compares equal to a Tensor of the same values", function()
    assert.is_true(make() == gd.tensor{1, 2, 3})
    assert.is_true(gd.tensor{1, 2, 3} == make())
  end)

  it("prints with its own name in the footer", function()
    assert.truthy(tostring(make()):find("gdnn.GradientDescent", 1, true))
  end)
end)
