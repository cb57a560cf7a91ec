-- Specs for version 2 of gdnn's file format (src/fileio.h): the
-- restart of each minimum in a GradientDescent file, the activation
-- names in a training checkpoint, the version each kind is written in,
-- and version 1 files of every kind, built here byte by byte from
-- their documented layout.

local gd = require "gdnn"
local helpers = require "tests.helpers"

local slurp, spit, flat = helpers.slurp, helpers.spit, helpers.flat
local fnv1a, reseal, patch = helpers.fnv1a, helpers.reseal, helpers.patch

-- A whole gdnn file: magic, version, word (dtype or depth), length,
-- the body and the checksum of all before it.
local function image(magic, version, word, body)
  local head = magic .. string.pack("<I4I4I8", version, word,
                                    24 + #body + 8)
  return head .. body .. string.pack("<i8", fnv1a(head .. body))
end

-- The numbers of a (nested) list packed as fmt each, in row-major
-- order.
local function packed(fmt, list)
  local out = {}
  local function walk(v)
    if type(v) == "table" then
      for _, e in ipairs(v) do walk(e) end
    else
      out[#out + 1] = string.pack(fmt, v)
    end
  end
  walk(list)
  return table.concat(out)
end

local function f64s(list) return packed("<d", list) end
local function i64s(list) return packed("<i8", list) end

-- 32-byte NUL-padded activation names.
local function names(list)
  local out = {}
  for i, a in ipairs(list) do out[i] = a .. ("\0"):rep(32 - #a) end
  return table.concat(out)
end

local HISTORY = {"x", "gradient_current", "gradient_previous",
                 "gradient_step", "velocity"}

-- The fixed fields of a GradientDescent (steps .. nminima).
local function opt_state(o, nminima)
  return string.pack("<I8I8", o.steps, o.adam_steps) .. i64s(o.rng) ..
         string.pack("<I4I4dI8", o.has_spare, o.adam_m and 1 or 0,
                     o.spare, nminima)
end

-- A GradientDescent file of version 1 (minima without a restart) or 2
-- (minima with m.restart, an i64) from the fields of o.
local function opt_file(o, version)
  local b = {string.pack("<I4I4", #o.shape, 0), i64s(o.shape),
             opt_state(o, #o.minima)}
  for _, k in ipairs(HISTORY) do b[#b + 1] = f64s(o[k]) end
  if o.adam_m then
    b[#b + 1] = f64s(o.adam_m)
    b[#b + 1] = f64s(o.adam_v)
  end
  for _, m in ipairs(o.minima) do
    b[#b + 1] = string.pack("<dI8I4I4", m.value, m.iterations, m.reason,
                            m.numeric)
    if version >= 2 then b[#b + 1] = string.pack("<i8", m.restart) end
    b[#b + 1] = f64s(m.x)
  end
  return image("GDNNOPT\26", version, 1, table.concat(b))
end

-- A version 1 network file of the widths, names and parameters of o.
local function net_v1(o)
  local b = {i64s(o.widths), names(o.activations)}
  for l = 1, #o.W do
    b[#b + 1] = f64s(o.W[l])
    b[#b + 1] = f64s(o.b[l])
  end
  return image("GDNNNET\26", 1, #o.W, table.concat(b))
end

-- A checkpoint file of version 1 (no names) or 2 from the fields of o:
-- full batch, no shuffled order, one plain GradientDescent record per
-- parameter with o.steps steps and o.history as every history tensor's
-- value.
local function ckp_file(o, version)
  local b = {i64s(o.widths)}
  if version >= 2 then b[#b + 1] = names(o.activations) end
  b[#b + 1] = string.pack("<I8I8I8I8", #o.losses, 0, 0, 0) ..
              i64s(o.rng) .. string.pack("<I4I4d", 0, 0, 0) ..
              f64s(o.losses)
  for l = 1, #o.W do
    for _, p in ipairs{o.W[l], o.b[l]} do
      local d = {steps = #o.losses, adam_steps = 0, rng = o.rng,
                 has_spare = 0, spare = 0}
      local n = #flat(gd.tensor(p))
      local h = {}
      for i = 1, n do h[i] = o.history end
      b[#b + 1] = opt_state(d, 0) .. f64s(p)
      for _ = 2, #HISTORY do b[#b + 1] = f64s(h) end
    end
  end
  return image("GDNNCKP\26", version, #o.W, table.concat(b))
end

-- A version 2 checkpoint s turned into version 1 by its layout: the
-- activation names after the widths are cut out.
local function ckp_to_v1(s)
  local depth = string.unpack("<I4", s, 13)
  local at = 24 + 8 * (depth + 1)
  local v1 = s:sub(1, at) .. s:sub(at + 32 * depth + 1)
  v1 = patch(v1, 9, string.pack("<I4", 1))
  return reseal(patch(v1, 17, string.pack("<I8", #v1)))
end

-- The largest element-wise distance of the tensors a and b.
local function maxdiff(a, b)
  return (a - b):abs():max()
end

-- A GradientDescent state with adam's moments and two minima.
local OPT = {
  shape = {2}, steps = 5, adam_steps = 3,
  rng = {1, -2, 0x123456789, -0x7000000000000000},
  has_spare = 1, spare = 0.25,
  x = {1.5, -2}, gradient_current = {0.1, 0.2},
  gradient_previous = {0.3, 0.4}, gradient_step = {0.5, 0.6},
  velocity = {0.7, 0.8}, adam_m = {0.9, 1.0}, adam_v = {1.1, 1.2},
  minima = {
    {value = 0.5, iterations = 7, reason = 0, numeric = 0,
     x = {0.1, -0.1}},
    {value = 1.5, iterations = 20, reason = 1, numeric = 1, x = {2, 3}},
  },
}

-- A copy of OPT whose i-th minimum has the restart restart(i).
local function opt_restarts(restart)
  local o = {}
  for k, v in pairs(OPT) do o[k] = v end
  o.minima = {}
  for i, m in ipairs(OPT.minima) do
    o.minima[i] = {value = m.value, iterations = m.iterations,
                   reason = m.reason, numeric = m.numeric, x = m.x,
                   restart = restart(i)}
  end
  return o
end

-- A 2-3-1 network's parameters and a checkpoint of three iterations.
local NET = {
  widths = {2, 3, 1}, activations = {"tanh", "identity"},
  W = {{{0.5, -0.3}, {0.2, 0.8}, {-0.6, 0.1}}, {{0.7, -0.4, 0.3}}},
  b = {{0.1, -0.2, 0.05}, {0.02}},
  losses = {0.9, 0.8, 0.7}, rng = {11, 12, 13, 14}, history = 0.125,
}

local X = gd.tensor{{0.1, 0.5, -0.3, 0.8}, {1, -1, 0.2, 0.4}}
local Y = gd.tensor{{0.5, -0.2, 0.1, 0.3}}

describe("gdnn files, version 2", function()
  local path = os.tmpname()
  after_each(function() helpers.remove_saved(path) end)

  local function version_of(s) return (string.unpack("<I4", s, 9)) end

  describe("of GradientDescent objects", function()
    local function search()
      return gd.gradient_descent_from_function(
        function(v) return (v * v):sum() end, nil,
        {lower = {-1, -1}, upper = {1, 1}, restarts = 4, seed = 2,
         max_iterations = 15, learning_rate = 0.1})
    end

    it("keep the restart of every minimum", function()
      local x = search()
      assert.is_true(gd.save(path, x))
      local y = assert(gd.load(path))
      local a, b, seen = x.minima, y.minima, {}
      assert.equal(4, #b)
      for i = 1, 4 do
        assert.equal(a[i].restart, b[i].restart)
        assert.equal(a[i].value, b[i].value)
        seen[b[i].restart] = true
      end
      assert.same({true, true, true, true}, seen)
    end)

    it("store each minimum as 32 bytes of fields and its point", function()
      local x = search()
      assert.is_true(gd.save(path, x))
      local s = slurp(path)
      assert.equal(2, version_of(s))
      -- header, ndim and shape, fixed fields, five tensors, minima
      assert.equal(24 + 8 + 8 + 72 + 5 * 16 + 4 * (32 + 16) + 8, #s)
      local first = 24 + 16 + 72 + 5 * 16 + 1
      local value, _, _, _, restart = string.unpack("<dI8I4I4i8", s, first)
      assert.equal(x.minima[1].value, value)
      assert.equal(x.minima[1].restart - 1, restart)
    end)

    it("write every field as the documented layout has it", function()
      local o = opt_restarts(function(i) return i + 6 end)
      spit(path, opt_file(o, 2))
      local y = assert(gd.load(path))
      assert.equal(8, y.minima[1].restart)
      assert.equal(9, y.minima[2].restart)
      assert.is_true(gd.save(path, y))
      assert.equal(opt_file(o, 2), slurp(path))
    end)

    it("refuse a restart below -1", function()
      local x = search()
      assert.is_true(gd.save(path, x))
      local at = 24 + 16 + 72 + 5 * 16 + 24 + 1
      spit(path, reseal(patch(slurp(path), at, string.pack("<i8", -2))))
      local y, msg = gd.load(path)
      assert.is_nil(y)
      assert.matches("corrupted %(bad minimum%)", msg)
    end)
  end)

  describe("of training checkpoints", function()
    local function net(acts, seed)
      return gd.Network{layer_node_nums = {2, 3, 1}, activations = acts,
                        seed = seed or 3}
    end

    local function params(n)
      local out = {}
      for l = 1, 2 do
        out[#out + 1] = n.weights[l]:clone()
        out[#out + 1] = n.biases[l]:clone()
      end
      return out
    end

    local function unchanged(n, before)
      local now = params(n)
      for i = 1, #before do assert.equal(0, maxdiff(now[i], before[i])) end
    end

    it("record the activation names after the widths", function()
      net{"tanh", "sigmoid"}:train(X, Y, {iterations = 2, checkpoint = path})
      local s = slurp(path)
      assert.equal(2, version_of(s))
      assert.equal(names{"tanh", "sigmoid"}, s:sub(24 + 24 + 1, 24 + 24 + 64))
    end)

    it("refuse a network with other activations, naming the layer and " ..
       "both names, and leave it alone", function()
      net{"tanh", "sigmoid"}:train(X, Y, {iterations = 4, checkpoint = path})
      local cases = {
        {{"tanh", "relu"}, "layer 2 uses 'sigmoid', not 'relu'"},
        {{"relu", "sigmoid"}, "layer 1 uses 'tanh', not 'relu'"},
        {{"identity", "identity"}, "layer 1 uses 'tanh', not 'identity'"},
      }
      for _, c in ipairs(cases) do
        local other = net(c[1])
        local before = params(other)
        assert.has_error(function()
          other:train(X, Y, {iterations = 9, resume = path})
        end, "train: '" .. path .. "': a checkpoint of a network whose " ..
             c[2])
        unchanged(other, before)
      end
    end)

    it("resume into a network of the same activations", function()
      local whole = net({"tanh", "sigmoid"}, 5)
      local want = whole:train(X, Y, {iterations = 9, method = "adam"})
      net({"tanh", "sigmoid"}, 5):train(X, Y, {iterations = 4,
        method = "adam", checkpoint = path})
      local second = net({"tanh", "sigmoid"}, 8)
      local got = second:train(X, Y, {iterations = 9, method = "adam",
                                      resume = path})
      assert.equal(0, maxdiff(got, want))
      unchanged(second, params(whole))
    end)
  end)

  describe("versions", function()
    it("are 1 for tensors and networks and 2 for the others", function()
      assert.is_true(gd.save(path, gd.ones(2)))
      assert.equal(1, version_of(slurp(path)))
      assert.is_true(gd.save(path, gd.Network{layer_node_nums = {1, 1}}))
      assert.equal(1, version_of(slurp(path)))
      assert.is_true(gd.save(path, gd.GradientDescent{1}))
      assert.equal(2, version_of(slurp(path)))
    end)

    it("above the newest of a kind are reported as newer", function()
      local cases = {
        {gd.ones(2), 2, "version 1 of tensor files"},
        {gd.Network{layer_node_nums = {1, 1}}, 2,
         "version 1 of network files"},
        {gd.GradientDescent{1}, 3,
         "versions 1 to 2 of GradientDescent files"},
      }
      for _, c in ipairs(cases) do
        assert.is_true(gd.save(path, c[1]))
        spit(path, reseal(patch(slurp(path), 9, string.pack("<I4", c[2]))))
        local v, msg = gd.load(path)
        assert.is_nil(v)
        assert.truthy(msg:find("format version " .. c[2] .. " is newer " ..
                               "(this build reads " .. c[3] .. ")", 1, true),
                      msg)
      end
      spit(path, reseal(patch(slurp(path), 9, string.pack("<I4", 0))))
      local v, msg = gd.load(path)
      assert.is_nil(v)
      assert.matches("format version 0 is unknown", msg)
    end)

    it("above 2 are refused for checkpoints", function()
      gd.Network{layer_node_nums = {2, 3, 1}}:train(X, Y,
        {iterations = 2, checkpoint = path})
      spit(path, reseal(patch(slurp(path), 9, string.pack("<I4", 3))))
      local n = gd.Network{layer_node_nums = {2, 3, 1}}
      assert.has_error(function()
        n:train(X, Y, {iterations = 5, resume = path})
      end, "train: '" .. path .. "': format version 3 is newer (this " ..
           "build reads versions 1 to 2 of checkpoint files)")
    end)
  end)
end)

describe("gdnn files, version 1", function()
  local path = os.tmpname()
  after_each(function() helpers.remove_saved(path) end)

  it("of tensors load", function()
    spit(path, image("GDNNTEN\26", 1, 1, string.pack("<I4I4", 2, 0) ..
                     i64s{2, 2} .. f64s{1, 2, 3, 4}))
    assert.is_true(assert(gd.load(path)) == gd.tensor{{1, 2}, {3, 4}})
  end)

  it("of GradientDescent objects load, minima without a restart",
     function()
    spit(path, opt_file(OPT, 1))
    local y = assert(gd.load(path))
    assert.same(OPT.x, y:totable())
    assert.equal(OPT.steps, y.steps)
    for _, k in ipairs{"gradient_current", "gradient_previous",
                       "gradient_step", "adam_m", "adam_v"} do
      assert.same(OPT[k], y[k]:totable(), k)
    end
    assert.equal(2, #y.minima)
    for i, m in ipairs(y.minima) do
      local want = OPT.minima[i]
      assert.equal(want.value, m.value)
      assert.equal(want.iterations, m.iterations)
      assert.equal(i == 1 and "converged" or "max_iterations", m.reason)
      assert.equal(i == 1 and "analytic" or "central_differences",
                   m.gradient)
      assert.same(want.x, m.x:totable())
      assert.is_nil(m.restart)
    end
  end)

  it("of GradientDescent objects save again as version 2, every field " ..
     "kept and the restarts -1", function()
    spit(path, opt_file(OPT, 1))
    local y = assert(gd.load(path))
    assert.is_true(gd.save(path, y))
    local o = opt_restarts(function() return -1 end)
    assert.equal(opt_file(o, 2), slurp(path))
    assert.is_nil(assert(gd.load(path)).minima[2].restart)
  end)

  it("of GradientDescent objects without adam or minima load", function()
    local o = {}
    for k, v in pairs(OPT) do o[k] = v end
    o.adam_m, o.adam_v, o.minima = nil, nil, {}
    spit(path, opt_file(o, 1))
    local y = assert(gd.load(path))
    assert.same(o.gradient_step, y.gradient_step:totable())
    assert.is_nil(y.adam_m)
    assert.same({}, y.minima)
  end)

  it("of networks load", function()
    spit(path, net_v1(NET))
    local n = assert(gd.load(path))
    assert.same(NET.activations, n.activations)
    for l = 1, 2 do
      assert.same(NET.W[l], n.weights[l]:totable())
      assert.same(NET.b[l], flat(n.biases[l]))
    end
  end)

  it("written by an earlier build (the fuzzer's seeds) load", function()
    for _, name in ipairs{"tensor_2x3", "descent_minima", "descent_adam",
                          "network"} do
      local file = "fuzz/corpus/loaders/" .. name
      assert.equal(1, string.unpack("<I4", slurp(file), 9))
      assert.truthy(gd.load(file), name)
    end
    for _, m in ipairs(gd.load("fuzz/corpus/loaders/descent_minima").minima)
    do
      assert.is_nil(m.restart)
    end
  end)

  describe("of training checkpoints", function()
    local function fresh(acts)
      return gd.Network{layer_node_nums = {2, 3, 1}, activations = acts,
                        seed = 7}
    end

    it("resume with the parameters and losses they hold, whatever the " ..
       "activations", function()
      spit(path, ckp_file(NET, 1))
      for _, acts in ipairs{{"tanh", "identity"}, {"relu", "sigmoid"}} do
        local n = fresh(acts)
        local losses = n:train(X, Y, {iterations = 3, resume = path})
        assert.same(NET.losses, losses:totable())
        for l = 1, 2 do
          assert.same(NET.W[l], n.weights[l]:totable())
          assert.same(NET.b[l], flat(n.biases[l]))
        end
      end
    end)

    it("continue as a network of those parameters would", function()
      spit(path, ckp_file(NET, 1))
      local n = fresh(NET.activations)
      local got = n:train(X, Y, {iterations = 5, resume = path})
      spit(path, net_v1(NET))
      local ref = assert(gd.load(path))
      local want = ref:train(X, Y, {iterations = 2})
      local g = got:totable()
      assert.same(NET.losses, {g[1], g[2], g[3]})
      assert.same(want:totable(), {g[4], g[5]})
      for l = 1, 2 do
        assert.equal(0, maxdiff(n.weights[l], ref.weights[l]))
        assert.equal(0, maxdiff(n.biases[l], ref.biases[l]))
      end
    end)

    it("resume as version 2 ones of the same fields do", function()
      spit(path, ckp_file(NET, 2))
      local a = fresh(NET.activations):train(X, Y,
                                             {iterations = 4, resume = path})
      assert.has_error(function()
        fresh{"relu", "identity"}:train(X, Y, {iterations = 4,
                                               resume = path})
      end, "train: '" .. path .. "': a checkpoint of a network whose " ..
           "layer 1 uses 'tanh', not 'relu'")
      spit(path, ckp_file(NET, 1))
      local b = fresh(NET.activations):train(X, Y,
                                             {iterations = 4, resume = path})
      assert.equal(0, maxdiff(a, b))
      assert.same(NET.losses, {a[1], a[2], a[3]})
    end)

    it("cut from a version 2 file resume as it does, mini-batches and " ..
       "adam", function()
      local o = {iterations = 12, batch_size = 3, seed = 4, method = "adam",
                 learning_rate = 0.05}
      local function run(extra)
        local t = {}
        for k, v in pairs(o) do t[k] = v end
        for k, v in pairs(extra) do t[k] = v end
        local n = fresh(NET.activations)
        return n:train(X, Y, t), n
      end
      local want, whole = run{}
      run{iterations = 5, checkpoint = path}
      local v2 = slurp(path)
      local got2 = run{resume = path}
      spit(path, ckp_to_v1(v2))
      local got1, n1 = run{resume = path}
      assert.equal(0, maxdiff(got2, want))
      assert.equal(0, maxdiff(got1, want))
      for l = 1, 2 do
        assert.equal(0, maxdiff(n1.weights[l], whole.weights[l]))
      end
    end)
  end)
end)
