-- Specs for gd.TensorJacobian: construction, composition by einsum,
-- associativity, structure, higher orders and errors.
local gd = require "gdnn"

local function maxdiff(a, b) return (a - b):abs():max() end

describe("gd.TensorJacobian", function()
  it("remembers its numerator and denominator shapes", function()
    local J = gd.TensorJacobian(gd.arange(0, 24, 1), {2, 3}, {4})
    assert.same({2, 3}, J.numerator)
    assert.same({4}, J.denominator)
    assert.equal("dense", J.kind)
    assert.same({2, 3, 4}, J:dense():shape())
    assert.equal(23, J[{2, 3, 4}])
  end)

  it("refuses shapes that do not multiply out, showing both", function()
    local ok, msg = pcall(gd.TensorJacobian, gd.zeros(5, 5), {2, 3}, {4})
    assert.is_false(ok)
    assert.matches("numerator 2x3 and denominator 4 do not multiply out " ..
                   "to tensor 5x5", msg, 1, true)
  end)

  it("composes as a matrix product for matrices", function()
    gd.seed(1)
    local a, b = gd.randn(3, 4), gd.randn(4, 2)
    local J = gd.TensorJacobian(a, {3}, {4}) * gd.TensorJacobian(b, {4}, {2})
    assert.same({3}, J.numerator)
    assert.same({2}, J.denominator)
    assert.near(0, maxdiff(J:dense(), gd.matmul(a, b)), 1e-14)
  end)

  it("contracts whole index tuples", function()
    gd.seed(2)
    local a, b = gd.randn(2, 3, 4, 5), gd.randn(4, 5, 6)
    local J = gd.TensorJacobian(a, {2, 3}, {4, 5}) *
              gd.TensorJacobian(b, {4, 5}, {6})
    local want = gd.einsum("abcd,cde->abe", a, b)
    assert.near(0, maxdiff(J:dense(), want), 1e-13)
  end)

  it("is associative up to rounding", function()
    gd.seed(3)
    local J1 = gd.TensorJacobian(gd.randn(2, 3, 4), {2}, {3, 4})
    local J2 = gd.TensorJacobian(gd.randn(3, 4, 5), {3, 4}, {5})
    local J3 = gd.TensorJacobian(gd.randn(5, 2, 2), {5}, {2, 2})
    local left, right = (J1 * J2) * J3, J1 * (J2 * J3)
    assert.same(left.numerator, right.numerator)
    assert.same(left.denominator, right.denominator)
    assert.near(0, maxdiff(left:dense(), right:dense()), 1e-12)
  end)

  it("composes diagonal Jacobians as their dense forms", function()
    gd.seed(4)
    local z = gd.randn(3, 2)
    local D = gd.ActivationFunctions.tanh.df(z)
    local Dd = gd.TensorJacobian(D:dense(), {3, 2}, {3, 2})
    local G = gd.TensorJacobian(gd.randn(3, 2), {}, {3, 2})
    local K = gd.TensorJacobian(gd.randn(3, 2, 4), {3, 2}, {4})
    assert.near(0, maxdiff((G * D):dense(), (G * Dd):dense()), 1e-15)
    assert.near(0, maxdiff((D * K):dense(), (Dd * K):dense()), 1e-15)
    assert.equal("diagonal", (D * D).kind)
    assert.near(0, maxdiff((D * D):dense(), (Dd * Dd):dense()), 1e-15)
  end)

  it("scales by a number and applies to a direction", function()
    local a = gd.tensor{{1, 2}, {3, 4}}
    local J = gd.TensorJacobian(a, {2}, {2})
    assert.near(0, maxdiff((J * 2):dense(), a * 2), 0)
    assert.near(0, maxdiff((0.5 * J):dense(), a * 0.5), 0)
    local v = J * gd.tensor{1, -1}
    assert.equal("gdnn.Tensor", getmetatable(v).__name)
    assert.near(-1, v[1], 0)
    assert.near(-1, v[2], 0)
  end)

  it("makes an outer product when both middles are empty", function()
    local u = gd.TensorJacobian(gd.tensor{1, 2}, {2}, {})
    local w = gd.TensorJacobian(gd.tensor{3, 4, 5}, {}, {3})
    local J = u * w
    assert.same({2}, J.numerator)
    assert.same({3}, J.denominator)
    assert.equal(10, J[{2, 3}])
  end)

  it("refuses a mismatch, showing both shapes", function()
    local J1 = gd.TensorJacobian(gd.zeros(1, 100), {1}, {100})
    local J2 = gd.TensorJacobian(gd.zeros(6, 1), {6}, {1})
    local ok, msg = pcall(function() return J1 * J2 end)
    assert.is_false(ok)
    assert.matches("denominator 100 does not match numerator 6", msg, 1,
                   true)
  end)

  it("prints its kind, its shapes and its values", function()
    local J = gd.TensorJacobian(gd.zeros(1, 100, 6, 1), {1, 100}, {6, 1})
    local s = tostring(J)
    assert.equal("TensorJacobian d(1x100) / d(6x1)\n", s:sub(1, 33))
    local D = gd.ActivationFunctions.relu.df(gd.tensor{1, -1})
    assert.matches("^TensorJacobian %(diagonal%) d%(2%) / d%(2%)\n%[%[",
                   tostring(D))
  end)

  describe("higher orders", function()
    -- f(x) = (a . x)^3 for a fixed a; each derivative is the Jacobian of
    -- the previous one, built by composing Jacobians.
    local a = gd.tensor{0.5, -1.5, 2.0}
    local Ja = gd.TensorJacobian(a, {}, {3})         -- du/dx, u = a . x
    local Jat = gd.TensorJacobian(a, {3}, {})        -- a as a numerator
    local function u(x) return gd.einsum("i,i->", a, x)[{}] end

    -- df/dx = 3u^2 du/dx
    local function d1(x)
      return gd.TensorJacobian(gd.tensor(3 * u(x) ^ 2), {}, {}) * Ja
    end
    -- d2f/dx2: d1 = a (3u^2), so its Jacobian is a * d(3u^2)/dx
    local function d2(x)
      return Jat * (gd.TensorJacobian(gd.tensor(6 * u(x)), {}, {}) * Ja)
    end
    -- d3f/dx3: d2 = (a (x) a) 6u, so its Jacobian is (a (x) a) * 6 du/dx
    local function d3()
      return (Jat * Ja):regroup(2) * (Ja * 6)
    end

    local function diff(fn, x, h)
      local cols = {}
      for k = 1, 3 do
        local v = x[k]
        x[k] = v + h
        local up = fn(x):dense()
        x[k] = v - h
        local down = fn(x):dense()
        x[k] = v
        cols[k] = (up - down) / (2 * h)
      end
      return cols
    end

    local x = gd.tensor{0.3, 0.2, -0.1}

    it("gives a Hessian that matches differences of the gradient",
       function()
      local H = d2(x)
      assert.same({3}, H.numerator)
      assert.same({3}, H.denominator)
      local cols = diff(d1, x, 1e-6)
      for k = 1, 3 do
        assert.near(0, maxdiff(H:dense():select(2, k), cols[k]), 1e-8)
      end
    end)

    it("gives a third derivative that matches differences of the Hessian",
       function()
      local T = d3()
      assert.same({3, 3}, T.numerator)
      assert.same({3}, T.denominator)
      local cols = diff(d2, x, 1e-6)
      for k = 1, 3 do
        assert.near(0, maxdiff(T:dense():select(3, k), cols[k]), 1e-8)
      end
      assert.near(6 * 0.5 * -1.5 * 2.0, T[{1, 2, 3}], 1e-14)
    end)
  end)
end)

describe("gd.loss", function()
  local Y = gd.tensor{{1, 2, 3}, {0, 0, 1}}
  local Yhat = gd.tensor{{1.5, 2, 2}, {0, 1, 1}}

  it("gives the mean squared error over the columns", function()
    assert.near((0.25 + 1 + 1) / 6, gd.loss.mse(Y, Yhat), 1e-15)
  end)

  it("gives dE/dYhat with a scalar numerator", function()
    local J = gd.loss.mse_jacobian(Y, Yhat)
    assert.same({}, J.numerator)
    assert.same({2, 3}, J.denominator)
    local h = 1e-6
    for i = 1, 2 do
      for j = 1, 3 do
        local v = Yhat[{i, j}]
        Yhat[{i, j}] = v + h
        local up = gd.loss.mse(Y, Yhat)
        Yhat[{i, j}] = v - h
        local down = gd.loss.mse(Y, Yhat)
        Yhat[{i, j}] = v
        assert.near((up - down) / (2 * h), J[{i, j}], 1e-9)
      end
    end
  end)

  it("refuses shapes that differ, showing both", function()
    local ok, msg = pcall(gd.loss.mse, Y, gd.zeros(3, 2))
    assert.is_false(ok)
    assert.matches("Y 2x3 and Yhat 3x2 differ", msg, 1, true)
    ok, msg = pcall(gd.loss.mse_jacobian, Y, gd.zeros(2))
    assert.matches("Y 2x3 and Yhat 2 differ", msg, 1, true)
  end)
end)
