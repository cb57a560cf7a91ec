-- Specs for net:hessian: d2E/dW_l^2 of every layer of networks of depth
-- 1 to 8 with every built-in activation, against a dense reference
-- computed here by forward-mode differentiation, against central
-- differences of the gradient, and under failing allocations.
local gd = require "gdnn"
local helpers = require "tests.helpers"

-- ||a - b|| / (||a|| + ||b||), 0 when both vanish.
local function relerr(a, b)
  local s = a:norm() + b:norm()
  return s == 0 and 0 or (a - b):norm() / s
end

-- Each activation on a column z (a Lua list): its values a, its
-- derivative da[r][q] = da_r/dz_q and its second derivative
-- d2a[r][q][t] = d2a_r/dz_q dz_t, the textbook formulas.
local function elementwise(f, df, d2f)
  return function(z)
    local n, a, da, d2a = #z, {}, {}, {}
    for r = 1, n do a[r] = f(z[r]) end
    for r = 1, n do
      da[r], d2a[r] = {}, {}
      for q = 1, n do
        da[r][q] = r == q and df(z[r], a[r]) or 0
        d2a[r][q] = {}
        for t = 1, n do
          d2a[r][q][t] = (r == q and q == t) and d2f(z[r], a[r]) or 0
        end
      end
    end
    return a, da, d2a
  end
end

local functions = {
  identity = elementwise(function(z) return z end,
                         function() return 1 end, function() return 0 end),
  relu = elementwise(function(z) return z > 0 and z or 0 end,
                     function(z) return z > 0 and 1 or 0 end,
                     function() return 0 end),
  sigmoid = elementwise(function(z) return 1 / (1 + math.exp(-z)) end,
                        function(_, a) return a * (1 - a) end,
                        function(_, a) return a * (1 - a) * (1 - 2 * a) end),
  tanh = elementwise(function(z)
                       local e = math.exp(2 * z)
                       return (e - 1) / (e + 1)
                     end,
                     function(_, a) return 1 - a * a end,
                     function(_, a) return -2 * a * (1 - a * a) end),
  softmax = function(z)
    local n, c, sum, a, da, d2a = #z, -math.huge, 0, {}, {}, {}
    for r = 1, n do c = math.max(c, z[r]) end
    for r = 1, n do a[r] = math.exp(z[r] - c); sum = sum + a[r] end
    for r = 1, n do a[r] = a[r] / sum end
    local function delta(i, j) return i == j and 1 or 0 end
    for r = 1, n do
      da[r], d2a[r] = {}, {}
      for q = 1, n do
        da[r][q] = a[r] * (delta(r, q) - a[q])
        d2a[r][q] = {}
        for t = 1, n do
          d2a[r][q][t] = a[r] * ((delta(r, q) - a[q]) * (delta(r, t) - a[t])
                                 - a[q] * (delta(q, t) - a[t]))
        end
      end
    end
    return a, da, d2a
  end,
}

-- Column s of a tensor (or of a list of rows) as a Lua list.
local function column(rows, s)
  local c = {}
  for r = 1, #rows do c[r] = rows[r][s] end
  return c
end

-- The dense d2E/dW_l^2 (shape n x p x n x p for W_l of n x p), sample by
-- sample: dZ_k/dW_l by forward-mode differentiation for k >= l, then
-- H = sum over samples of dYhat^T dYhat / m + sum over layers k >= l
-- of sum_r g_r d2a_r/dz dz contracted with dZ_k/dW_l on both sides,
-- g = dE/dA_k by backpropagation. No Jacobian of the library is used.
local function reference(net, X, Y, l)
  local depth = #net.layer_node_nums - 1
  local Ws, bs, fs = {}, {}, {}
  for k = 1, depth do
    Ws[k], bs[k] = net.weights[k]:totable(), net.biases[k]:totable()
    fs[k] = functions[net.activations[k]]
  end
  local x, y = X:totable(), Y:totable()
  local m = #x[1]
  local n, p = #Ws[l], #Ws[l][1]
  local np = n * p
  local H = {}
  for c = 1, np * np do H[c] = 0 end

  for s = 1, m do
    -- forward, keeping every layer's values and derivatives
    local a, zs, das, d2as = column(x, s), {}, {}, {}
    local as = {[0] = a}
    for k = 1, depth do
      local z = {}
      for r = 1, #Ws[k] do
        z[r] = bs[k][r][1]
        for q = 1, #a do z[r] = z[r] + Ws[k][r][q] * a[q] end
      end
      a, das[k], d2as[k] = fs[k](z)
      zs[k], as[k] = z, a
    end
    -- g_k = dE/dA_k for this sample, from the output down
    local gs = {}
    local g = {}
    for r = 1, #a do g[r] = (a[r] - y[r][s]) / m end
    for k = depth, l, -1 do
      gs[k] = g
      if k > l then
        local gz, gp = {}, {}
        for q = 1, #zs[k] do
          gz[q] = 0
          for r = 1, #g do gz[q] = gz[q] + g[r] * das[k][r][q] end
        end
        for j = 1, #Ws[k][1] do
          gp[j] = 0
          for q = 1, #Ws[k] do gp[j] = gp[j] + gz[q] * Ws[k][q][j] end
        end
        g = gp
      end
    end
    -- dZ_l/dW_l[r][(i, j)] = delta(r, i) A_(l-1)[j], then layer by layer
    local dz = {}
    for r = 1, n do
      dz[r] = {}
      for c = 1, np do
        local i, j = (c - 1) // p + 1, (c - 1) % p + 1
        dz[r][c] = r == i and as[l - 1][j] or 0
      end
    end
    local da
    for k = l, depth do
      local nk = #zs[k]
      da = {}
      for r = 1, nk do
        da[r] = {}
        for c = 1, np do
          local v = 0
          for q = 1, nk do v = v + das[k][r][q] * dz[q][c] end
          da[r][c] = v
        end
      end
      -- the curvature of layer k: sum_r g_r d2a_r/dz_q dz_t
      for r = 1, nk do
        for q = 1, nk do
          for t = 1, nk do
            local w = gs[k][r] * d2as[k][r][q][t]
            if w ~= 0 then
              for c = 1, np do
                for e = 1, np do
                  H[(c - 1) * np + e] = H[(c - 1) * np + e]
                                        + w * dz[q][c] * dz[t][e]
                end
              end
            end
          end
        end
      end
      if k < depth then
        local nz = {}
        for r = 1, #Ws[k + 1] do
          nz[r] = {}
          for c = 1, np do
            local v = 0
            for q = 1, nk do v = v + Ws[k + 1][r][q] * da[q][c] end
            nz[r][c] = v
          end
        end
        dz = nz
      end
    end
    -- the Gauss-Newton part dYhat^T dYhat / m
    for r = 1, #da do
      for c = 1, np do
        for e = 1, np do
          H[(c - 1) * np + e] = H[(c - 1) * np + e] + da[r][c] * da[r][e] / m
        end
      end
    end
  end
  return gd.tensor(H):reshape(n, p, n, p)
end

-- A network with small random biases and data of m samples.
local function problem(nodes, acts, m, seed)
  local net = gd.Network{layer_node_nums = nodes, activations = acts,
                         seed = seed}
  gd.seed(seed + 100)
  for k = 1, #nodes - 1 do
    net.biases[k]:copy(gd.randn(nodes[k + 1], 1) * 0.3)
  end
  return net, gd.randn(nodes[1], m), gd.rand(nodes[#nodes], m)
end

local nets = {
  {"{3,4} sigmoid, depth 1", {3, 4}, "sigmoid", 6},
  {"{3,2} identity, depth 1", {3, 2}, "identity", 5},
  {"{2,3} softmax, depth 1", {2, 3}, "softmax", 4},
  {"{1,6,1} sigmoid", {1, 6, 1}, "sigmoid", 9},
  {"{1,10,2} tanh with an identity output", {1, 10, 2},
   {"tanh", "identity"}, 12},
  {"{2,4,3} relu with an identity output", {2, 4, 3},
   {"relu", "identity"}, 7},
  {"{3,4,3} sigmoid with a softmax output", {3, 4, 3},
   {"sigmoid", "softmax"}, 6},
  {"{3,4,2} with a softmax hidden layer", {3, 4, 2},
   {"softmax", "tanh"}, 5},
  {"{1,4,2} softmax under an identity output", {1, 4, 2},
   {"softmax", "identity"}, 6},
  {"{1,3,2} softmax under a sigmoid output", {1, 3, 2},
   {"softmax", "sigmoid"}, 6},
  {"{2,3,4,2} sigmoid, depth 3", {2, 3, 4, 2}, "sigmoid", 6},
  {"{2,4,3,2} tanh, relu, identity", {2, 4, 3, 2},
   {"tanh", "relu", "identity"}, 6},
  {"{1,3,3,1} tanh with an input of width 1", {1, 3, 3, 1},
   {"tanh", "tanh", "sigmoid"}, 8},
  {"{2,3,3,2} tanh with identity layers above", {2, 3, 3, 2},
   {"tanh", "identity", "identity"}, 5},
  {"{2,3,3,3,3,2} alternating sigmoid and tanh", {2, 3, 3, 3, 3, 2},
   {"sigmoid", "tanh", "sigmoid", "tanh", "sigmoid"}, 4},
  -- seven linear maps between W_1 and the loss: longer than one chain
  {"{2,3,3,3,3,3,3,3,2} tanh under seven identity layers",
   {2, 3, 3, 3, 3, 3, 3, 3, 2},
   {"tanh", "identity", "identity", "identity", "identity", "identity",
    "identity", "identity"}, 4},
}

describe("net:hessian", function()
  for _, c in ipairs(nets) do
    it("equals the dense forward-mode Hessian of every layer for " .. c[1],
       function()
      local nodes = c[2]
      local net, X, Y = problem(nodes, c[3], c[4], #nodes)
      for l = 1, #nodes - 1 do
        local H = net:hessian(X, Y, l)
        local W = net.weights[l]
        assert.same(W:shape(), H.numerator)
        assert.same(W:shape(), H.denominator)
        local err = relerr(H:dense(), reference(net, X, Y, l))
        assert.is_true(err < 1e-12, c[1] .. " layer " .. l .. ": " .. err)
      end
    end)
  end

  -- the reference itself against differences of the backward gradient
  for _, i in ipairs{5, 8, 16} do
    local c = nets[i]
    it("matches differences of the gradient for " .. c[1], function()
      local nodes = c[2]
      local net, X, Y = problem(nodes, c[3], c[4], #nodes)
      for _, l in ipairs{1, #nodes - 1} do
        local W = net.weights[l]
        local H = net:hessian(X, Y, l):dense()
        local h = 1e-5
        for i1 = 1, W:shape()[1] do
          for j1 = 1, W:shape()[2] do
            local col = helpers.gradient_difference(net, X, Y, l, i1, j1, h)
            assert.is_true(relerr(H:select(3, i1):select(3, j1), col) < 1e-7)
          end
        end
      end
    end)
  end

  it("leaves out the vanishing curvature of relu and identity layers",
     function()
    -- relu and identity have d2A/dZ2 = 0, so only the term through the
    -- loss remains: one dense term, not a sum with a zero one
    local net, X, Y = problem({2, 4, 3}, {"relu", "identity"}, 7, 1)
    local H = net:hessian(X, Y, 1)
    assert.equal("dense", H.kind)
    assert.equal(64, H.stored)
    assert.is_true(relerr(H:dense(), reference(net, X, Y, 1)) < 1e-12)
  end)

  it("keeps each sample's curvature apart from the other terms", function()
    -- a tanh hidden layer adds g * d2A/dZ2, tied on the rows of W
    local net, X, Y = problem({1, 10, 2}, {"tanh", "identity"}, 12, 3)
    local H = net:hessian(X, Y, 1)
    assert.equal("sum", H.kind)
    assert.equal(100 + 10, H.stored)
  end)

  it("follows the sample count and the weights from call to call",
     function()
    local net = problem({2, 5, 3}, {"sigmoid", "tanh"}, 1, 4)
    gd.seed(40)
    for _, m in ipairs{5, 8, 5, 1} do
      local X, Y = gd.randn(2, m), gd.rand(3, m)
      net.weights[2]:copy(gd.randn(3, 5))
      for l = 1, 2 do
        local err = relerr(net:hessian(X, Y, l):dense(),
                           reference(net, X, Y, l))
        assert.is_true(err < 1e-12, "m = " .. m .. ", layer " .. l)
      end
    end
  end)

  it("refuses a layer out of range", function()
    local net, X, Y = problem({2, 3, 1}, "sigmoid", 4, 5)
    local ok, msg = pcall(net.hessian, net, X, Y, 3)
    assert.is_false(ok)
    assert.matches("layer out of range", msg, 1, true)
  end)
end)

describe("net:hessian with failing allocations", function()
  after_each(function() gd._fail_allocations() end)

  local shapes = {
    {"a deferred chain", {1, 10, 2}, {"tanh", "identity"}},
    {"multiplied-out blocks", {2, 3, 4, 2}, "sigmoid"},
  }
  for _, c in ipairs(shapes) do
    it("fails cleanly at every allocation for " .. c[1], function()
      local net, X, Y = problem(c[2], c[3], 5, 6)
      local want = reference(net, X, Y, 1)
      local failures = 0
      for n = 0, 2000 do
        gd.einsum_cache_clear()
        gd._fail_allocations(n)
        local ok, H = pcall(net.hessian, net, X, Y, 1)
        gd._fail_allocations()
        if ok then
          assert.is_true(relerr(H:dense(), want) < 1e-12)
          break
        end
        failures = failures + 1
        assert.is_truthy(tostring(H):find("out of memory") or
                         tostring(H):find("cannot allocate"), tostring(H))
        assert.is_true(n < 2000, "still failing after 2000 allocations")
      end
      assert.is_true(failures > 0)
      -- the network still works afterwards
      assert.is_true(relerr(net:hessian(X, Y, 1):dense(), want) < 1e-12)
      collectgarbage()
    end)
  end
end)

describe("gd.chain at the length a Hessian chain reaches", function()
  it("multiplies 16 structured factors as pairwise products do", function()
    -- W (x) delta and diagonal factors over n x m, as a deep network's
    -- chain L^T B^T C B L has them, sixteen in all
    local n, m = 3, 4
    gd.seed(77)
    local js = {}
    for k = 1, 16 do
      if k % 2 == 1 then
        js[k] = gd.TensorJacobian(gd.randn(n, n), {n, m}, {n, m}, "ij->isjs")
      else
        js[k] = gd.ActivationFunctions.tanh.df(gd.randn(n, m))
      end
    end
    local C = gd.chain(table.unpack(js))
    local P = js[1]
    for k = 2, 16 do P = P * js[k] end
    assert.same({n, m}, C.numerator)
    assert.is_true(relerr(C:dense(), P:dense()) < 1e-13)
    js[17] = js[16]
    local ok, msg = pcall(gd.chain, table.unpack(js))
    assert.is_false(ok)
    assert.matches("takes 1 to 16 TensorJacobians, got 17", msg, 1, true)
  end)
end)
