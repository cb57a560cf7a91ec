-- Specs for gd.ActivationFunctions: values, first and second derivatives
-- against central finite differences, and registration from Lua.
local gd = require "gdnn"
local A = gd.ActivationFunctions

local function relerr(a, b)
  local s = a:norm() + b:norm()
  return s == 0 and 0 or (a - b):norm() / s
end

-- The columns of d(fn(z))/dz by central differences, as a tensor of
-- shape (shape of fn(z)) ++ (shape of z).
local function numeric(fn, z, h)
  h = h or 1e-6
  local n, m = z:shape()[1], z:shape()[2]
  local cols = {}
  for k = 1, n do
    for t = 1, m do
      local v = z[{k, t}]
      z[{k, t}] = v + h
      local up = fn(z)
      z[{k, t}] = v - h
      local down = fn(z)
      z[{k, t}] = v
      cols[#cols + 1] = (up - down) / (2 * h)
    end
  end
  return cols
end

-- Compare the Jacobian J (numerator ++ z's shape) with numeric columns.
local function check(J, cols, z)
  local n, m = z:shape()[1], z:shape()[2]
  local nd = #J:dense():shape()
  local i = 0
  for k = 1, n do
    for t = 1, m do
      i = i + 1
      local got = J:dense():select(nd - 1, k):select(nd - 1, t)
      assert.is_true(relerr(got, cols[i]) < 1e-6)
    end
  end
end

local z = gd.tensor{{0.3, -1.2, 2.0}, {-0.7, 0.9, 0.1}}

describe("gd.ActivationFunctions", function()
  it("holds sigmoid, relu, tanh, softmax and identity", function()
    for _, name in ipairs{"sigmoid", "relu", "tanh", "softmax", "identity"} do
      assert.equal(name, A[name].name)
    end
    assert.near(0, (A.sigmoid.f(z) - z:sigmoid()):abs():max(), 1e-15)
    assert.near(0, (A.tanh.f(z) - z:tanh()):abs():max(), 1e-15)
    assert.near(0, (A.relu.f(z) - z:relu()):abs():max(), 1e-15)
    assert.is_true(A.identity.f(z) == z)
  end)

  it("takes softmax over each column", function()
    local s = A.softmax.f(z)
    local sums = s:sum(1)
    assert.near(1, sums[1], 1e-15)
    assert.near(1, sums[3], 1e-15)
    local e1, e2 = math.exp(0.3), math.exp(-0.7)
    assert.near(e1 / (e1 + e2), s[{1, 1}], 1e-15)
  end)

  it("gives diagonal Jacobians for element-wise maps, blocks for softmax",
     function()
    local J = A.tanh.df(z)
    assert.equal("diagonal", J.kind)
    assert.same({2, 3}, J.numerator)
    assert.same({2, 3}, J.denominator)
    assert.equal("blocks", A.softmax.df(z).kind)
  end)

  for _, name in ipairs{"sigmoid", "relu", "tanh", "softmax", "identity"} do
    it("gives a first derivative of " .. name .. " that matches differences",
       function()
      check(A[name].df(z), numeric(A[name].f, z), z)
    end)

    it("gives a second derivative of " .. name .. " that matches differences",
       function()
      local D2 = A[name].d2f(z)
      assert.same({2, 3, 2, 3}, D2.numerator)
      assert.same({2, 3}, D2.denominator)
      check(D2, numeric(function(x) return A[name].df(x):dense() end, z), z)
    end)
  end

  it("refuses an unknown name, listing the known ones", function()
    assert.has_error(function() return A.swish end,
      "unknown activation 'swish' (known: identity, relu, sigmoid, " ..
      "softmax, tanh)")
  end)

  describe("register", function()
    -- softplus: log(1 + e^z), with the logistic function as derivative.
    local function f(x) return x:exp():log1p() end
    local function df(x)
      return gd.TensorJacobian(gd.einsum("ij,ik,jl->ijkl", x:sigmoid(),
        gd.eye(x:shape()[1]), gd.eye(x:shape()[2])), x:shape(), x:shape())
    end
    local function d2f(x)
      local s = x:sigmoid()
      local n, m = x:shape()[1], x:shape()[2]
      local d = gd.zeros(n, m, n, m, n, m)
      for i = 1, n do
        for j = 1, m do
          local v = s[{i, j}]
          d[{i, j, i, j, i, j}] = v * (1 - v)
        end
      end
      return gd.TensorJacobian(d, {n, m, n, m}, {n, m})
    end

    it("adds a function usable in a network", function()
      A.register("softplus", f, df, d2f)
      assert.equal("softplus", A.softplus.name)
      local net = gd.Network{layer_node_nums = {2, 3, 1},
                             activations = {"softplus", "identity"}, seed = 3}
      local X, Y = gd.tensor{{0.1, -0.4}, {0.7, 0.2}}, gd.tensor{{1, 0}}
      local DEDWs = net:backward(X, Y)
      local W = net.weights[1]
      local h = 1e-6
      local v = W[{2, 1}]
      W[{2, 1}] = v + h
      local up = gd.loss.mse(Y, net:forward(X))
      W[{2, 1}] = v - h
      local down = gd.loss.mse(Y, net:forward(X))
      W[{2, 1}] = v
      assert.near((up - down) / (2 * h), DEDWs[1][{2, 1}], 1e-9)
      local H = net:hessian(X, Y, 1)
      assert.same({3, 2}, H.numerator)
    end)

    it("refuses a function without a derivative", function()
      assert.has_error(function() A.register("half", f) end,
        "bad argument #3 to 'register' (a derivative function is required)")
      assert.has_error(function() A.register("sigmoid", f, df) end)
    end)

    it("passes an error raised by a registered function through", function()
      A.register("broken", f, function() error("no derivative today") end)
      local net = gd.Network{layer_node_nums = {1, 1},
                             activations = "broken", seed = 1}
      local ok, msg = pcall(net.backward, net, gd.tensor{{1}},
                            gd.tensor{{0}})
      assert.is_false(ok)
      assert.matches("activation 'broken' df: .*no derivative today", msg)
    end)

    it("refuses a Hessian through a function without d2f", function()
      A.register("nod2", f, df)
      local net = gd.Network{layer_node_nums = {1, 1},
                             activations = "nod2", seed = 1}
      assert.has_error(function()
        net:hessian(gd.tensor{{1}}, gd.tensor{{0}}, 1)
      end)
    end)
  end)
end)
