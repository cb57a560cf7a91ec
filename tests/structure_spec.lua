-- Specs for structured TensorJacobians: every composition rule on
-- structure (ties, diagonals, per-sample blocks, sums) against the same
-- computation on dense Jacobians, chains, and the network's Hessians
-- and Hessian-vector products.
local gd = require "gdnn"

local function maxdiff(a, b) return (a - b):abs():max() end

-- The same Jacobian with its structure thrown away.
local function dense(J)
  return gd.TensorJacobian(J:dense(), J.numerator, J.denominator)
end

local n, m, p = 3, 4, 2
gd.seed(21)
local A = gd.randn(p, m)             -- A_prev, p x m
local W = gd.randn(n, p)
local Z = gd.randn(n, m)

-- The structured Jacobians of one layer Z = W A + b, and of activations.
local function dZdW()
  return gd.TensorJacobian(A, {n, m}, {n, p}, "js->isij")
end
local function dZdA()
  return gd.TensorJacobian(W, {n, m}, {p, m}, "ij->isjs")
end
local function dZdb()
  return gd.TensorJacobian(gd.ones(1), {n, m}, {n, 1}, "o->isio")
end
local function ident()
  return gd.TensorJacobian(gd.tensor(1), {n, m}, {n, m}, "->abab")
end
local D = gd.ActivationFunctions.tanh.df(Z)
local S = gd.ActivationFunctions.softmax.df(Z)

describe("structured TensorJacobians", function()
  it("build the layer's Jacobians from their factors alone", function()
    local J = dZdW()
    assert.equal("kronecker", J.kind)
    assert.equal(p * m, J.stored)
    assert.same({n, m, n, p}, J:dense():shape())
    -- dZ/dW[i, s, k, j] = delta(i, k) A[j, s]
    assert.near(A[{2, 3}], J[{1, 3, 1, 2}], 0)
    assert.equal(0, J[{1, 3, 2, 2}])
    assert.equal("kronecker", dZdA().kind)
    assert.near(W[{3, 2}], dZdA()[{3, 4, 2, 4}], 0)
    assert.equal(0, dZdA()[{3, 4, 2, 1}])
    assert.equal("diagonal", ident().kind)
    assert.equal("diagonal", D.kind)
    assert.equal("blocks", S.kind)
    assert.equal(n * m * n, S.stored)
  end)

  local G = gd.TensorJacobian(gd.randn(n, m), {}, {n, m})
  local cases = {
    {"a row through a diagonal (a diagonal scales)", function() return G end,
     function() return D end},
    {"a row through per-sample blocks", function() return G end,
     function() return S end},
    {"a row through delta (x) A_prev (one GEMM)", function() return G end,
     dZdW},
    {"a row through W (x) delta (one GEMM)", function() return G end, dZdA},
    {"a row through delta (x) 1 (a row sum)", function() return G end, dZdb},
    {"a diagonal through delta (x) A_prev", function() return D end, dZdW},
    {"blocks through W (x) delta", function() return S end, dZdA},
    {"a diagonal through a diagonal", function() return D end,
     function() return D end},
    {"blocks through blocks", function() return S end, function() return S end},
    {"the identity through anything", ident, dZdA},
    {"a transposed kronecker through itself", function()
       return dZdW():transpose() end, dZdW},
    {"a transposed kronecker through blocks", function()
       return dZdA():transpose() end, function() return S end},
    {"a kronecker through a dense direction", dZdW, function()
       return gd.TensorJacobian(gd.randn(n, p), {n, p}, {}) end},
  }
  for _, c in ipairs(cases) do
    it("composes " .. c[1] .. " as the dense computation does", function()
      local a, b = c[2](), c[3]()
      local got, want = a * b, dense(a) * dense(b)
      assert.same(want.numerator, got.numerator)
      assert.same(want.denominator, got.denominator)
      assert.near(0, maxdiff(got:dense(), want:dense()), 1e-13)
    end)
  end

  it("keeps the structure the rules promise", function()
    assert.equal("diagonal", (D * D).kind)
    assert.equal("blocks", (S * S).kind)
    assert.equal("dense", (G * dZdW()).kind)
    assert.equal(n * m * p, (D * dZdW()).stored)
  end)

  it("transposes without copying, as the dense transpose", function()
    local T = dZdW():transpose()
    assert.same({n, p}, T.numerator)
    assert.same({n, m}, T.denominator)
    local want = gd.einsum("iskj->kjis", dZdW():dense())
    assert.near(0, maxdiff(T:dense(), want), 0)
  end)

  it("chains in one contraction, equal to pairwise products", function()
    local C = gd.chain(dZdA():transpose(), S, dZdA())
    local want = (dense(dZdA():transpose()) * dense(S)) * dense(dZdA())
    assert.same({p, m}, C.numerator)
    assert.equal("blocks", C.kind)
    assert.near(0, maxdiff(C:dense(), want:dense()), 1e-13)
    local one = gd.chain(D)
    assert.near(0, maxdiff(one:dense(), D:dense()), 0)
  end)

  it("sums a ties-only term into a contraction's scale", function()
    -- I * I: the summed index has no factor, so nothing is stored
    local J = ident() * ident()
    assert.equal(1, J.stored)
    assert.near(0, maxdiff(J:dense(), dense(ident()):dense()), 0)
    local T = gd.TensorJacobian(gd.tensor(1), {n}, {n}, "->aa")
    local tr = gd.TensorJacobian(gd.tensor(1), {}, {n, n}, "->aa")
    assert.near(n, (tr * gd.TensorJacobian(T:dense(), {n, n}, {}))[{}], 1e-15)
  end)

  it("refuses a bad spec, naming what is wrong", function()
    local ok, msg = pcall(gd.TensorJacobian, A, {n, m}, {n, p}, "js->isi")
    assert.is_false(ok)
    assert.matches("spec 'js%->isi' does not name 2 factor and 4 dense", msg)
    ok, msg = pcall(gd.TensorJacobian, A, {n, m}, {n, p}, "jx->isij")
    assert.matches("factor dimension 2 %('x'%) does not match", msg)
    ok, msg = pcall(gd.TensorJacobian, A, {n, m}, {p, p}, "js->isij")
    assert.matches("tied dimensions of sizes 3 and 2", msg)
    ok, msg = pcall(gd.chain, dZdW(), dZdW())
    assert.matches("denominator 3x2 does not match numerator 3x4", msg, 1,
                   true)
  end)
end)

describe("structured second derivatives of the network", function()
  local function relerr(a, b)
    local s = a:norm() + b:norm()
    return s == 0 and 0 or (a - b):norm() / s
  end

  local nets = {
    {"{2,4,3} tanh with an identity output", {2, 4, 3}, {"tanh", "identity"}},
    {"{3,4,3} with a softmax output", {3, 4, 3}, {"sigmoid", "softmax"}},
    {"{2,3,4,2} sigmoid", {2, 3, 4, 2}, "sigmoid"},
  }
  for _, c in ipairs(nets) do
    it("gives Hessian-vector products equal to the Hessian for " .. c[1],
       function()
      local nodes = c[2]
      local net = gd.Network{layer_node_nums = nodes, activations = c[3],
                             seed = 6}
      gd.seed(8)
      local X, Y = gd.randn(nodes[1], 7), gd.rand(nodes[#nodes], 7)
      for l = 1, #nodes - 1 do
        local Wl = net.weights[l]
        local V = gd.randn(Wl:shape())
        local H = net:hessian(X, Y, l)
        local want = H * V
        local got = net:hvp(X, Y, l, V)
        assert.same(Wl:shape(), got:shape())
        assert.is_true(relerr(got, want) < 1e-12)
        -- and both against differences of the gradient along V
        local h = 1e-5
        local W0 = Wl:clone()
        Wl:copy(W0 + V * h)
        local up = net:backward(X, Y)[l]
        Wl:copy(W0 - V * h)
        local down = net:backward(X, Y)[l]
        Wl:copy(W0)
        assert.is_true(relerr(got, (up - down) / (2 * h)) < 1e-6)
      end
    end)
  end

  it("keeps a Hessian in blocks where rows of W never meet", function()
    -- with one layer and an identity output, d2E/dW2 ties the rows: one
    -- 3 x 3 block X X^T / m per row of W
    local net = gd.Network{layer_node_nums = {3, 2},
                           activations = "identity", seed = 1}
    local X, Y = gd.randn(3, 5), gd.randn(2, 5)
    local H = net:hessian(X, Y, 1)
    assert.equal("blocks", H.kind)
    assert.equal(18, H.stored)
    local want = gd.matmul(X, X:transpose()) / 5
    assert.near(0, maxdiff(H:dense():select(1, 1):select(2, 1), want), 1e-14)
    assert.equal(0, H[{1, 2, 2, 1}])
  end)

  it("refuses a direction of the wrong shape and a bad layer", function()
    local net = gd.Network{layer_node_nums = {2, 3, 1}, seed = 1}
    local X, Y = gd.randn(2, 4), gd.rand(1, 4)
    local ok, msg = pcall(net.hvp, net, X, Y, 1, gd.zeros(2, 3))
    assert.is_false(ok)
    assert.matches("direction 2x3 does not match W 3x2", msg, 1, true)
    ok, msg = pcall(net.hvp, net, X, Y, 3, gd.zeros(3, 2))
    assert.matches("layer out of range", msg, 1, true)
  end)
end)
