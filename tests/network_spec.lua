-- Specs for gd.Network: gradients and Hessians against central finite
-- differences, training, saving and loading.
local gd = require "gdnn"
local helpers = require "tests.helpers"

-- Loss of the network on X, Y at its current weights.
local function loss(net, X, Y)
  return gd.loss.mse(Y, net:forward(X))
end

-- Central differences of the loss for every element of parameter p.
local function numeric(net, X, Y, p, h)
  h = h or 1e-6
  local g = gd.zeros(p:shape())
  local rows, cols = p:shape()[1], p:shape()[2]
  for i = 1, rows do
    for j = 1, cols do
      local v = p[{i, j}]
      p[{i, j}] = v + h
      local up = loss(net, X, Y)
      p[{i, j}] = v - h
      local down = loss(net, X, Y)
      p[{i, j}] = v
      g[{i, j}] = (up - down) / (2 * h)
    end
  end
  return g
end

-- ||a - b|| / (||a|| + ||b||), 0 when both vanish.
local function relerr(a, b)
  local d = (a - b):norm()
  local s = a:norm() + b:norm()
  return s == 0 and 0 or d / s
end

local function data(n0, nL, m, seed)
  gd.seed(seed)
  return gd.randn(n0, m), gd.rand(nL, m)
end

-- Twelve samples X, Y for a {3, 4, 2} network, drawn from data_seed,
-- and a function that makes a fresh such network from net_seed.
local function small_problem(data_seed, net_seed)
  local X, Y = data(3, 2, 12, data_seed)
  return X, Y, function()
    return gd.Network{layer_node_nums = {3, 4, 2}, seed = net_seed}
  end
end

local cases = {
  {"{1,6,1} sigmoid on many samples", {1, 6, 1}, "sigmoid", 50},
  {"{1,6,1} sigmoid on one sample", {1, 6, 1}, "sigmoid", 1},
  {"{1,10,2} tanh with an identity output", {1, 10, 2},
   {"tanh", "identity"}, 20},
  {"{3,5,4,2} relu", {3, 5, 4, 2}, "relu", 15},
  {"{3,5,4,2} relu on one sample", {3, 5, 4, 2}, "relu", 1},
  {"a softmax output", {3, 4, 3}, {"tanh", "softmax"}, 10},
}

describe("gd.Network", function()
  it("has weights and biases of the documented shapes", function()
    local net = gd.Network{layer_node_nums = {3, 5, 2}, seed = 3}
    assert.same({5, 3}, net.weights[1]:shape())
    assert.same({2, 1}, net.biases[2]:shape())
    assert.same({3, 5, 2}, net.layer_node_nums)
    assert.equal("sigmoid", net.activations[2])
    assert.equal(0, net.biases[1]:abs():sum())
  end)

  it("starts from the same weights for the same seed", function()
    local a = gd.Network{layer_node_nums = {2, 4, 1}, seed = 7}
    local b = gd.Network{layer_node_nums = {2, 4, 1}, seed = 7}
    local c = gd.Network{layer_node_nums = {2, 4, 1}, seed = 8}
    assert.is_true(a.weights[1] == b.weights[1])
    assert.is_false(a.weights[1] == c.weights[1])
  end)

  it("computes Yhat = f(W X + b) layer by layer", function()
    local net = gd.Network{layer_node_nums = {2, 3, 1},
                           activations = {"tanh", "identity"}, seed = 1}
    local X = gd.tensor{{0.5, -1}, {2, 0.25}}
    local A1 = (gd.matmul(net.weights[1], X) + net.biases[1]):tanh()
    local want = gd.matmul(net.weights[2], A1) + net.biases[2]
    assert.near(0, (net:forward(X) - want):abs():max(), 1e-14)
  end)

  for _, c in ipairs(cases) do
    it("matches finite differences of the gradient for " .. c[1], function()
      local nodes = c[2]
      local net = gd.Network{layer_node_nums = nodes,
                             activations = c[3], seed = 11}
      for l = 1, #nodes - 1 do
        net.biases[l]:copy(gd.randn(nodes[l + 1], 1) * 0.1)
      end
      local X, Y = data(nodes[1], nodes[#nodes], c[4], 5)
      local DEDWs, DEDbs, e = net:backward(X, Y)
      assert.near(loss(net, X, Y), e, 1e-15)
      for l = 1, #nodes - 1 do
        local nw = numeric(net, X, Y, net.weights[l])
        local nb = numeric(net, X, Y, net.biases[l])
        assert.is_true(relerr(DEDWs[l], nw) < 1e-6)
        assert.is_true(relerr(DEDbs[l], nb) < 1e-6)
      end
    end)
  end

  for _, c in ipairs{cases[1], cases[3], cases[6]} do
    it("gives Hessians that match differences of the gradient for " .. c[1],
       function()
      local nodes = c[2]
      local net = gd.Network{layer_node_nums = nodes,
                             activations = c[3], seed = 2}
      local X, Y = data(nodes[1], nodes[#nodes], c[4], 9)
      for l = 1, #nodes - 1 do
        local W = net.weights[l]
        local H = net:hessian(X, Y, l)
        assert.same(W:shape(), H.numerator)
        assert.same(W:shape(), H.denominator)
        local rows, cols = W:shape()[1], W:shape()[2]
        local h = 1e-5
        for i = 1, rows do
          for j = 1, cols do
            local col = helpers.gradient_difference(net, X, Y, l, i, j, h)
            local got = H:dense():select(3, i):select(3, j)
            assert.is_true(relerr(got, col) < 1e-6)
          end
        end
      end
    end)
  end

  it("refuses widths, inputs and targets of the wrong shape", function()
    assert.has_error(function() gd.Network{layer_node_nums = {3}} end)
    assert.has_error(function()
      gd.Network{layer_node_nums = {2, 0, 1}}
    end, "Network: layer_node_nums[2] is not a positive integer")
    local net = gd.Network{layer_node_nums = {2, 3, 1}, seed = 1}
    local ok, msg = pcall(net.forward, net, gd.zeros(3, 4))
    assert.is_false(ok)
    assert.matches("X 3x4 is not 2 x m", msg, 1, true)
    ok, msg = pcall(net.backward, net, gd.zeros(2, 4), gd.zeros(2, 4))
    assert.matches("Y 2x4 and Yhat 1x4 differ", msg, 1, true)
    ok, msg = pcall(gd.Network, {layer_node_nums = {1, 1},
                                 activations = "swish"})
    assert.matches("unknown activation 'swish' (known: identity, relu, " ..
                   "sigmoid, softmax, tanh", msg, 1, true)
  end)

  it("lowers the loss on sin(x) by a factor of ten", function()
    local X = gd.linspace(-3, 3, 100):reshape(1, 100)
    local Y = X:sin() * 0.4 + 0.5
    local net = gd.Network{layer_node_nums = {1, 6, 1},
                           activations = "sigmoid", seed = 1}
    local seen = 0
    local losses = net:train(X, Y, {
      iterations = 3000, learning_rate = 0.5, momentum = 0.9,
      progress_every = 1000,
      on_progress = function(it, e) seen = seen + 1 end,
    })
    assert.equal(3000, losses:numel())
    assert.equal(3, seen)
    assert.is_true(losses[3000] < losses[1] / 10)
    assert.near(loss(net, X, Y), losses[3000], 1e-3)
  end)

  it("trains on mini-batches and calls the snapshot hook", function()
    local X = gd.linspace(-2, 2, 40):reshape(1, 40)
    local Y = X:tanh()
    local net = gd.Network{layer_node_nums = {1, 5, 1},
                           activations = {"tanh", "identity"}, seed = 4}
    local snaps = {}
    local losses = net:train(X, Y, {
      iterations = 400, learning_rate = 0.1, batch_size = 8, seed = 3,
      snapshot_every = 100,
      on_snapshot = function(it, n) snaps[#snaps + 1] = n:forward(X) end,
    })
    assert.equal(4, #snaps)
    assert.is_true(loss(net, X, Y) < losses[1] / 5)
  end)

  it("stops on a non-finite loss naming the iteration", function()
    local X = gd.tensor{{1, 2, 3}}
    local net = gd.Network{layer_node_nums = {1, 3, 1},
                           activations = "identity", seed = 1}
    local ok, msg = pcall(net.train, net, X, X * 1e3,
                          {iterations = 500, learning_rate = 10})
    assert.is_false(ok)
    assert.matches("the loss is not finite at iteration %d+", msg)
  end)

  it("passes an error of a hook through", function()
    local net = gd.Network{layer_node_nums = {1, 2, 1}, seed = 1}
    local X = gd.tensor{{1, 2}}
    assert.has_error(function()
      net:train(X, X, {iterations = 5, progress_every = 2,
                       on_progress = function() error("stop here", 0) end})
    end, "stop here")
  end)

  describe("saving", function()
    local path = os.tmpname()
    after_each(function() os.remove(path) end)

    local function saved()
      local net = gd.Network{layer_node_nums = {2, 3, 2},
                             activations = {"relu", "softmax"}, seed = 5}
      net.biases[1]:copy(gd.tensor{{0.1}, {-0.2}, {1 / 3}})
      assert.is_true(net:save(path))
      return net
    end

    local function bytes()
      local f = assert(io.open(path, "rb"))
      local s = f:read("a")
      f:close()
      return s
    end

    local function write(s)
      local f = assert(io.open(path, "wb"))
      f:write(s)
      f:close()
    end

    it("round-trips a network exactly", function()
      local net = saved()
      local back = assert(gd.load(path))
      assert.same(net.layer_node_nums, back.layer_node_nums)
      assert.same(net.activations, back.activations)
      for l = 1, 2 do
        assert.is_true(net.weights[l] == back.weights[l])
        assert.is_true(net.biases[l] == back.biases[l])
      end
      local X = gd.randn(2, 5)
      assert.is_true(net:forward(X) == back:forward(X))
    end)

    it("reports a truncated file", function()
      saved()
      write(bytes():sub(1, 60))
      local net, msg = gd.load(path)
      assert.is_nil(net)
      assert.matches("truncated", msg)
    end)

    it("reports a corrupted file", function()
      saved()
      local s = bytes()
      local k = #s - 20
      write(s:sub(1, k - 1) .. string.char((s:byte(k) + 1) % 256) ..
            s:sub(k + 1))
      local net, msg = gd.load(path)
      assert.is_nil(net)
      assert.matches("corrupted %(checksum mismatch%)", msg)
    end)

    it("reports a file that is not a network", function()
      write("hello, this is not a network file at all")
      local net, msg = gd.load(path)
      assert.is_nil(net)
      assert.matches("wrong magic", msg)
    end)

    it("reports a file of a future version", function()
      saved()
      local s = bytes()
      write(s:sub(1, 8) .. string.char(2) .. s:sub(10))
      local net, msg = gd.load(path)
      assert.is_nil(net)
      assert.matches("format version 2 is newer", msg)
    end)

    it("reports a missing file", function()
      local net, msg = gd.load(path .. ".missing")
      assert.is_nil(net)
      assert.matches("load: '.*%.missing'", msg)
    end)
  end)

  describe("long runs", function()
    local path = os.tmpname()
    local X, Y = data(3, 2, 40, 11)

    local function fresh()
      return gd.Network{layer_node_nums = {3, 5, 2}, seed = 4}
    end

    -- Every parameter of a and b, element for element.
    local function same_weights(a, b)
      for l = 1, 2 do
        assert.equal(0, (a.weights[l] - b.weights[l]):abs():max())
        assert.equal(0, (a.biases[l] - b.biases[l]):abs():max())
      end
    end

    after_each(function() os.remove(path) end)

    it("stops at a non-finite gradient naming the iteration and layer",
       function()
      local net = gd.Network{layer_node_nums = {2, 3, 1}, seed = 4}
      local bad = gd.tensor{{1, math.huge}, {0.5, 0.2}}
      local before = net.weights[1]:clone()
      assert.has_error(function()
        net:train(bad, gd.tensor{{1, 0}}, {iterations = 3})
      end, "train: the gradient of W of layer 1 is not finite at " ..
           "iteration 1")
      assert.equal(0, (net.weights[1] - before):abs():max())
    end)

    it("returns the history so far when interrupted", function()
      local net = fresh()
      local losses, reason = net:train(X, Y, {iterations = 50,
        on_progress = function(i) if i == 7 then gd._interrupt() end end})
      assert.equal("interrupted", reason)
      assert.same({7}, losses:shape())
      local again = fresh()
      local full = again:train(X, Y, {iterations = 7})
      assert.equal(0, (losses - full):abs():max())
      same_weights(net, again)
      assert.is_true(net:save(path))
      same_weights(net, assert(gd.load(path)))
    end)

    it("says it ran to the end otherwise, and a stop is not left over",
       function()
      local losses, reason = fresh():train(X, Y, {iterations = 5})
      assert.equal("max_iterations", reason)
      assert.same({5}, losses:shape())
    end)

    local runs = {
      {"full batch, gd with momentum", {momentum = 0.9}},
      {"mini-batches, gd with momentum",
       {momentum = 0.9, batch_size = 7, seed = 3}},
      {"full batch, adam", {method = "adam", learning_rate = 0.05}},
      {"mini-batches, adam",
       {method = "adam", learning_rate = 0.05, batch_size = 7, seed = 3}},
    }
    for _, r in ipairs(runs) do
      it("resumes a checkpoint as an uninterrupted run, " .. r[1],
         function()
        local function opts(extra)
          local o = {iterations = 30}
          for k, v in pairs(r[2]) do o[k] = v end
          for k, v in pairs(extra) do o[k] = v end
          return o
        end
        local whole = fresh()
        local want = whole:train(X, Y, opts{})
        local first = fresh()
        first:train(X, Y, opts{iterations = 13, checkpoint = path,
                               checkpoint_every = 5})
        local second = fresh()
        local got, reason = second:train(X, Y, opts{resume = path})
        assert.equal("max_iterations", reason)
        assert.equal(0, (got - want):abs():max())
        same_weights(whole, second)
      end)
    end

    it("are not taken by gd.load for a network", function()
      fresh():train(X, Y, {iterations = 3, checkpoint = path})
      local net, msg = gd.load(path)
      assert.is_nil(net)
      assert.truthy(msg:find("a training checkpoint", 1, true))
    end)

    it("resumes a run stopped by an interrupt", function()
      local whole = fresh()
      local want = whole:train(X, Y, {iterations = 20, batch_size = 9})
      local first = fresh()
      local part = first:train(X, Y, {iterations = 20, batch_size = 9,
        checkpoint = path, checkpoint_every = 100,
        on_progress = function(i) if i == 8 then gd._interrupt() end end})
      assert.same({8}, part:shape())
      local second = fresh()
      local got = second:train(X, Y, {iterations = 20, batch_size = 9,
                                      resume = path})
      assert.equal(0, (got - want):abs():max())
      same_weights(whole, second)
    end)

    it("refuses a checkpoint that does not fit the run", function()
      fresh():train(X, Y, {iterations = 10, batch_size = 7,
                           checkpoint = path})
      local other = gd.Network{layer_node_nums = {3, 4, 2}, seed = 4}
      local net = fresh()
      local before = net.weights[1]:clone()
      assert.has_error(function()
        other:train(X, Y, {iterations = 20, batch_size = 7, resume = path})
      end, "train: '" .. path .. "': a checkpoint of a network of other " ..
           "widths")
      assert.has_error(function()
        net:train(X, Y, {iterations = 20, resume = path})
      end, "train: '" .. path .. "': a checkpoint made with batch_size 7, " ..
           "not 0 (0: the full batch)")
      assert.has_error(function()
        net:train(X:narrow(2, 1, 30), Y:narrow(2, 1, 30),
                  {iterations = 20, batch_size = 7, resume = path})
      end, "train: '" .. path .. "': a checkpoint made on 40 samples, not 30")
      assert.has_error(function()
        net:train(X, Y, {iterations = 5, batch_size = 7, resume = path})
      end, "train: '" .. path .. "': a checkpoint of 10 iterations, more " ..
           "than the 5 asked for")
      assert.equal(0, (net.weights[1] - before):abs():max())
    end)

    it("refuses a corrupted checkpoint and leaves the network alone",
       function()
      fresh():train(X, Y, {iterations = 4, checkpoint = path})
      local f = assert(io.open(path, "rb"))
      local s = f:read("a")
      f:close()
      f = assert(io.open(path, "wb"))
      f:write(s:sub(1, 100) .. string.char((s:byte(101) + 1) % 256) ..
              s:sub(102))
      f:close()
      local net = fresh()
      local before = net.weights[2]:clone()
      assert.has_error(function()
        net:train(X, Y, {iterations = 9, resume = path})
      end, "train: '" .. path .. "': corrupted (checksum mismatch)")
      assert.equal(0, (net.weights[2] - before):abs():max())
    end)

    it("checks the checkpoint options", function()
      assert.has_error(function()
        fresh():train(X, Y, {checkpoint = 3})
      end)
      assert.has_error(function()
        fresh():train(X, Y, {checkpoint_every = -1})
      end, "train: option checkpoint_every must be a whole number >= 0")
    end)
  end)
end)


describe("net:train with a reduce hook", function()
  local X, Y, fresh = small_problem(21, 9)

  -- The largest difference between the parameters of a and b.
  local function gap(a, b)
    local worst = 0
    for l = 1, #a.weights do
      worst = math.max(worst,
                       (a.weights[l] - b.weights[l]):abs():max(),
                       (a.biases[l] - b.biases[l]):abs():max())
    end
    return worst
  end

  it("is given views of the gradients, the loss and the iteration",
     function()
    local net, seen = fresh(), {}
    local probe = fresh()
    net:train(X, Y, {iterations = 2, learning_rate = 0.1,
                     reduce = function(dws, dbs, e, it)
      for l = 1, 2 do
        probe.weights[l]:copy(net.weights[l])
        probe.biases[l]:copy(net.biases[l])
      end
      local pw, pb, pe = probe:backward(X, Y)
      assert.are.equal(2, #dws)
      assert.are.equal(2, #dbs)
      for l = 1, 2 do
        assert.are.equal(0, (dws[l] - pw[l]):abs():max())
        assert.are.equal(0, (dbs[l] - pb[l]):abs():max())
      end
      assert.are.equal(pe, e)
      seen[#seen + 1] = it
    end})
    assert.are.same({1, 2}, seen)
  end)

  it("doubling the gradients equals twice the learning rate", function()
    local a, b = fresh(), fresh()
    local la = a:train(X, Y, {iterations = 30, learning_rate = 0.2})
    local lb = b:train(X, Y, {iterations = 30, learning_rate = 0.1,
                              reduce = function(dws, dbs)
      for l = 1, #dws do
        dws[l]:mul(2, dws[l])
        dbs[l]:mul(2, dbs[l])
      end
    end})
    assert.is_true(gap(a, b) <= 1e-14)
    assert.near(la[30], lb[30], 1e-14)
  end)

  it("zeroed gradients leave the network unchanged", function()
    local net = fresh()
    local before = net.weights[1]:clone()
    net:train(X, Y, {iterations = 5, reduce = function(dws, dbs)
      for l = 1, #dws do
        dws[l]:fill(0)
        dbs[l]:fill(0)
      end
    end})
    assert.are.equal(0, (net.weights[1] - before):abs():max())
  end)

  it("replaces the loss with a number it returns", function()
    local seen = {}
    local losses = fresh():train(X, Y, {iterations = 3,
      reduce = function(_, _, _, it) return 10 * it end,
      on_progress = function(_, e) seen[#seen + 1] = e end})
    assert.are.same({10, 20, 30}, {losses[1], losses[2], losses[3]})
    assert.are.same({10, 20, 30}, seen)
  end)

  it("propagates an error raised in it, whatever its value", function()
    local net = fresh()
    local ok, e = pcall(net.train, net, X, Y, {iterations = 5,
      reduce = function(_, _, _, it)
        if it == 3 then error({why = "stop"}) end
      end})
    assert.is_false(ok)
    assert.are.equal("stop", e.why)
    assert.has_error(function()
      net:train(X, Y, {reduce = function() error("no sum", 0) end})
    end, "no sum")
  end)

  it("refuses a result that is not a number", function()
    local net = fresh()
    local before = net.weights[1]:clone()
    assert.has_error(function()
      net:train(X, Y, {reduce = function() return "1" end})
    end, "train: reduce must return a number or nothing, got string")
    assert.has_error(function()
      net:train(X, Y, {reduce = function() return {} end})
    end, "train: reduce must return a number or nothing, got table")
    assert.are.equal(0, (net.weights[1] - before):abs():max())
  end)

  it("stops at a non-finite loss or gradient it makes", function()
    assert.has_error(function()
      fresh():train(X, Y, {reduce = function() return 0 / 0 end})
    end, "train: the loss is not finite at iteration 1")
    assert.has_error(function()
      fresh():train(X, Y, {reduce = function(dws)
        dws[2][{1, 1}] = math.huge
      end})
    end, "train: the gradient of W of layer 2 is not finite at " ..
         "iteration 1")
  end)

  it("must be a function", function()
    assert.has_error(function()
      fresh():train(X, Y, {reduce = 3})
    end, "train: option reduce must be a function")
  end)
end)


describe("net:train's update", function()
  local X, Y, fresh = small_problem(33, 5)

  -- n iterations by hand: the gradients of net:backward, then one
  -- GradientDescent step of a copy of each parameter, copied back.
  local function by_hand(net, n, opts)
    local dw, db = {}, {}
    for l = 1, #net.weights do
      dw[l] = gd.GradientDescent(net.weights[l])
      db[l] = gd.GradientDescent(net.biases[l])
    end
    for _ = 1, n do
      local gw, gb = net:backward(X, Y)
      for l = 1, #net.weights do
        dw[l]:step(gw[l], opts)
        db[l]:step(gb[l], opts)
        net.weights[l]:copy(dw[l])
        net.biases[l]:copy(db[l])
      end
    end
  end

  it("refuses an option it does not take, listing those it does",
     function()
    local net = fresh()
    local ok, msg = pcall(function()
      return net:train(X, Y, {iterations = 1, maximise = true})
    end)
    assert.is_false(ok)
    assert.truthy(msg:find("bad argument #3 to 'train' (unknown option " ..
                           "'maximise'; valid options are iterations, ",
                           1, true), msg)
    ok, msg = pcall(function()
      return net:train(X, Y, {learning_rat = 0.1})
    end)
    assert.is_false(ok)
    assert.truthy(msg:find("unknown option 'learning_rat'", 1, true), msg)
  end)

  for _, c in ipairs{
    {"plain", {learning_rate = 0.3}},
    {"with momentum", {learning_rate = 0.3, momentum = 0.8}},
    {"with Nesterov momentum",
     {learning_rate = 0.3, momentum = 0.8, nesterov = true}},
    {"with adam", {method = "adam", learning_rate = 0.05}},
    {"with clipping", {learning_rate = 0.3, clip_norm = 0.01}},
  } do
    it("is a GradientDescent step of every parameter, " .. c[1],
       function()
      local a, b = fresh(), fresh()
      local opts = {iterations = 4}
      for k, v in pairs(c[2]) do opts[k] = v end
      a:train(X, Y, opts)
      by_hand(b, 4, c[2])
      for l = 1, 2 do
        assert.are.equal(0, (a.weights[l] - b.weights[l]):abs():max())
        assert.are.equal(0, (a.biases[l] - b.biases[l]):abs():max())
      end
    end)
  end
end)
