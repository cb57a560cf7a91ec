-- Specs of the GradientDescent optimiser: the object, one step, whole
-- descents of a function, and every bad input.
-- Run: ./gdnn-lua /usr/bin/busted tests/descent_spec.lua

local gd = require "gdnn"

local helpers = require "tests.helpers"
local fails_with, flat = helpers.fails_with, helpers.flat

-- Every element of tensor t near the matching one of list want.
local function near_all(want, t, tol)
  local got = flat(t)
  assert.equal(#want, #got)
  for i = 1, #want do assert.near(want[i], got[i], tol) end
end

-- f(x) = exp(sum((x - c)^2)) and its gradient, for a centre c.
local function exp_bowl(c)
  local function f(x)
    local s = 0
    for i = 1, #c do s = s + (x[i] - c[i])^2 end
    return math.exp(s)
  end
  local function g(x)
    local e, out = f(x), {}
    for i = 1, #c do out[i] = 2 * (x[i] - c[i]) * e end
    return out
  end
  return f, g
end

-- Himmelblau's function, its gradient and its four minima.
local function himmelblau(x)
  local a, b = x[1], x[2]
  return (a * a + b - 11)^2 + (a + b * b - 7)^2
end
local function himmelblau_gradient(x)
  local a, b = x[1], x[2]
  local p, q = a * a + b - 11, a + b * b - 7
  return {4 * a * p + 2 * q, 2 * p + 4 * b * q}
end
local himmelblau_minima = {
  {3.0, 2.0}, {-2.805118086952745, 3.131312518250573},
  {-3.779310253377747, -3.283185991286170},
  {3.584428340330492, -1.848126526964404},
}

-- f(x) = (x1 - 1)^2 + w (x2 + 2)^2 + c, whose minimum c lies at
-- (1, -2), and its gradient.
local function quadratic(w, c)
  local function f(x) return (x[1] - 1)^2 + w * (x[2] + 2)^2 + c end
  local function g(x) return {2 * (x[1] - 1), 2 * w * (x[2] + 2)} end
  return f, g
end

-- An ill-conditioned quadratic 0.5 * (x^2 + 100 y^2).
local function ill(x) return 0.5 * (x[1]^2 + 100 * x[2]^2) end
local function ill_gradient(x) return {x[1], 100 * x[2]} end


describe("gdnn.GradientDescent", function()
  it("is a tensor of x0's shape with zero metadata before a step", function()
    local x = gd.GradientDescent({{1, 2}, {3, 4}})
    assert.same({2, 2}, x:shape())
    assert.is_true(gd.istensor(x))
    assert.equal("gdnn.GradientDescent", getmetatable(x).__name)
    near_all({1, 2, 3, 4}, x, 0)
    for _, k in ipairs{"gradient_current", "gradient_previous",
                       "gradient_step"} do
      assert.same({2, 2}, x[k]:shape())
      near_all({0, 0, 0, 0}, x[k], 0)
    end
    assert.same({}, x.minima)
    assert.equal(0, x.steps)
  end)

  it("accepts a tensor, a table or a number and copies it", function()
    local t = gd.tensor({5, 6})
    local x = gd.GradientDescent(t)
    x:step({1, 1}, {learning_rate = 1})
    near_all({4, 5}, x, 0)
    near_all({5, 6}, t, 0)
    local s = gd.GradientDescent(2.5)
    assert.same({}, s:shape())
    s:step(1, {learning_rate = 0.5})
    assert.near(2.0, s:sum(), 0)
  end)

  it("works with every tensor operation, unchanged", function()
    local x = gd.GradientDescent({{1, 2}, {3, 4}})
    near_all({2, 4, 6, 8}, x * 2, 0)
    near_all({2, 3, 4, 5}, x + 1, 0)
    near_all({7, 10, 15, 22}, x:matmul(x), 0)
    near_all({1, 3, 2, 4}, x:transpose(1, 2), 0)
    assert.near(10, x:sum(), 0)
    assert.equal(3, x[2][1])
    assert.is_true(x == gd.tensor({{1, 2}, {3, 4}}))
    assert.equal("string", type(tostring(x)))
    near_all({5, 11}, gd.einsum("ij,j->i", x, gd.tensor({1, 2})), 0)
    x[1][1] = 10
    assert.equal(10, x[1][1])
    x:step(gd.zeros(2, 2), {learning_rate = 1})
    assert.equal(10, x[1][1])
    assert.same({2, 2}, x:shape())
  end)

  it("raises an error for what is not a tensor", function()
    fails_with("bad argument #1", gd.GradientDescent, "abc")
    fails_with("bad argument #1", gd.GradientDescent)
  end)
end)


describe("gdnn.gradient_descent_step", function()
  it("moves x against the gradient and keeps the metadata", function()
    local x = gd.GradientDescent({1, 2})
    local r = gd.gradient_descent_step(x, {0.5, -1}, {learning_rate = 0.1})
    assert.equal(x, r)
    near_all({0.95, 2.1}, x, 1e-15)
    near_all({0.5, -1}, x.gradient_current, 0)
    near_all({0, 0}, x.gradient_previous, 0)
    near_all({-0.05, 0.1}, x.gradient_step, 1e-15)
    x:step({2, 4}, {learning_rate = 0.1})
    near_all({2, 4}, x.gradient_current, 0)
    near_all({0.5, -1}, x.gradient_previous, 0)
    near_all({-0.2, -0.4}, x.gradient_step, 1e-15)
    near_all({0.75, 1.7}, x, 1e-15)
    assert.equal(2, x.steps)
  end)

  it("climbs the gradient when maximising", function()
    local x = gd.GradientDescent({1})
    x:step({2}, {learning_rate = 0.5, maximise = true})
    near_all({2}, x, 0)
  end)

  it("adds momentum times the previous step", function()
    local x = gd.GradientDescent({0})
    local o = {learning_rate = 0.1, momentum = 0.5}
    x:step({1}, o)
    near_all({-0.1}, x.gradient_step, 1e-15)
    x:step({1}, o)
    near_all({-0.15}, x.gradient_step, 1e-15)
    near_all({-0.25}, x, 1e-15)
  end)

  it("looks ahead with Nesterov momentum", function()
    local x = gd.GradientDescent({0})
    local o = {learning_rate = 0.1, momentum = 0.5, nesterov = true}
    x:step({1}, o)                  -- v = -0.1, step = 0.5 v - 0.1
    near_all({-0.15}, x.gradient_step, 1e-15)
    x:step({1}, o)                  -- v = -0.15, step = 0.5 v - 0.1
    near_all({-0.175}, x.gradient_step, 1e-15)
    near_all({-0.325}, x, 1e-15)
  end)

  it("keeps adam's moment estimates beside the metadata", function()
    local x = gd.GradientDescent({1, 1})
    assert.is_nil(x.adam_m)
    local o = {method = "adam", learning_rate = 0.1}
    x:step({2, -4}, o)
    near_all({0.2, -0.4}, x.adam_m, 1e-15)
    near_all({0.004, 0.016}, x.adam_v, 1e-15)
    -- the first bias-corrected step is lr * g / (|g| + eps)
    near_all({-0.1, 0.1}, x.gradient_step, 1e-8)
  end)

  it("injects noise exactly every noise_interval steps", function()
    gd.seed(3)
    local x = gd.GradientDescent(gd.zeros(5))
    local o = {noise_interval = 3, noise_scale = 0.1}
    for k = 1, 12 do
      local before = x:clone()
      x:step(gd.zeros(5), o)
      local moved = (x - before):abs():sum()
      if k % 3 == 0 then
        assert.is_true(moved > 0, "no noise at step " .. k)
        near_all(flat(x - before), x.gradient_step, 1e-15)
      else
        assert.equal(0, moved, "noise at step " .. k)
      end
    end
  end)

  it("draws annealed noise of variance eta / (1 + t)^gamma", function()
    gd.seed(4)
    local n = 20000
    local x = gd.GradientDescent(gd.zeros(n))
    local o = {noise_eta = 0.5, noise_gamma = 0.55, learning_rate = 1}
    for t = 0, 9 do
      x:step(gd.zeros(n), o)
      local sd = math.sqrt((x.gradient_step ^ 2):sum() / n)
      assert.near(math.sqrt(0.5 / (1 + t)^0.55), sd, 0.03 * sd)
    end
  end)

  it("gives the same noise after the same gd.seed", function()
    local function run()
      gd.seed(11)
      local x = gd.GradientDescent(gd.zeros(4))
      for _ = 1, 5 do
        x:step({1, 2, 3, 4}, {noise_interval = 1, noise_scale = 0.3,
                              noise_eta = 0.1})
      end
      return flat(x)
    end
    assert.same(run(), run())
  end)

  it("bounds every step by the clipping norm and value", function()
    gd.seed(5)
    local x = gd.GradientDescent(gd.zeros(6))
    for _ = 1, 50 do
      x:step(gd.randn(6) * 100, {learning_rate = 0.1, clip_norm = 1})
      assert.is_true(x.gradient_step:norm() <= 0.1 * (1 + 1e-12))
      x:step(gd.randn(6) * 100, {learning_rate = 0.1, clip_value = 0.5})
      assert.is_true(x.gradient_step:abs():max() <= 0.05 * (1 + 1e-12))
    end
    x:step({0.3, 0, 0, 0, 0, 0}, {learning_rate = 1, clip_norm = 1})
    near_all({-0.3, 0, 0, 0, 0, 0}, x.gradient_step, 0)
  end)

  it("keeps the gradient given, not the clipped one", function()
    local x = gd.GradientDescent({0, 0})
    x:step({30, 40}, {learning_rate = 1, clip_norm = 5})
    near_all({30, 40}, x.gradient_current, 0)
    near_all({-3, -4}, x.gradient_step, 1e-15)
  end)

  it("raises an error for each bad input, leaving x unchanged", function()
    local x = gd.GradientDescent({1, 2})
    local step = gd.gradient_descent_step
    fails_with("gradient of shape 3 does not match x of shape 2",
               step, x, {1, 2, 3})
    fails_with("gradient of shape 2x1 does not match x of shape 2",
               step, x, {{1}, {2}})
    fails_with("gradient element 2 is", step, x, {1, 0 / 0})
    fails_with("gradient element 1 is inf", step, x, {math.huge, 1})
    fails_with("unknown option 'lr'; valid options are learning_rate, "
               .. "momentum, nesterov", step, x, {1, 1}, {lr = 1})
    fails_with("option learning_rate must be a number, got string",
               step, x, {1, 1}, {learning_rate = "big"})
    fails_with("learning_rate must be a finite number above 0, got -1",
               step, x, {1, 1}, {learning_rate = -1})
    fails_with("momentum must lie in [0, 1), got 1",
               step, x, {1, 1}, {momentum = 1})
    fails_with("option nesterov must be a boolean, got number",
               step, x, {1, 1}, {nesterov = 1})
    fails_with("option noise_interval must be an integer, got number",
               step, x, {1, 1}, {noise_interval = 1.5})
    fails_with("noise_interval must be at least 0, got -2",
               step, x, {1, 1}, {noise_interval = -2})
    fails_with("clip_norm must be a finite number of at least 0",
               step, x, {1, 1}, {clip_norm = -1})
    fails_with("option method must be 'gd' or 'adam', got 'sgd'",
               step, x, {1, 1}, {method = "sgd"})
    fails_with("momentum does not apply to method adam",
               step, x, {1, 1}, {method = "adam", momentum = 0.9})
    fails_with("beta2 must lie in [0, 1), got 1",
               step, x, {1, 1}, {method = "adam", beta2 = 1})
    fails_with("unknown option 'seed'", step, x, {1, 1}, {seed = 1})
    fails_with("gdnn.GradientDescent expected, got gdnn.Tensor",
               step, gd.tensor({1, 2}), {1, 1})
    fails_with("bad argument #2", step, x, "abc")
    near_all({1, 2}, x, 0)
    near_all({0, 0}, x.gradient_current, 0)
    assert.equal(0, x.steps)
  end)
end)


describe("gdnn.gradient_descent_from_function", function()
  -- The search from (0, 0) with learning rate 0.1 of f, by the
  -- gradient g or, without one, by central differences.
  local function from_origin(f, g)
    return gd.gradient_descent_from_function(f, g,
      {x0 = {0, 0}, learning_rate = 0.1})
  end

  it("finds a quartic's minimum", function()
    local function f(x) return x[1]^4 - 3 * x[1]^3 + 2 end
    local function g(x) return {4 * x[1]^3 - 9 * x[1]^2} end
    local x, v = gd.gradient_descent_from_function(f, g,
      {x0 = {6}, learning_rate = 0.01})
    assert.near(9 / 4, x[1], 1e-8)
    assert.near(f({9 / 4}), v, 1e-8)
    assert.equal("converged", x.minima[1].reason)
    assert.is_true(x.minima[1].converged)
  end)

  it("finds a simple quadratic's minimum", function()
    local x, v = from_origin(quadratic(1, 3))
    near_all({1, -2}, x, 1e-8)
    assert.near(3, v, 1e-8)
    assert.equal("analytic", x.minima[1].gradient)
  end)

  it("finds the minimum of an exponential in several dimensions", function()
    local c = {1, -1, 0.5, 2, -0.25}
    local f, g = exp_bowl(c)
    local x, v = gd.gradient_descent_from_function(f, g,
      {x0 = {1.3, -1.2, 0.6, 2.4, -0.5}, learning_rate = 0.1})
    near_all(c, x, 1e-8)
    assert.near(1, v, 1e-8)
  end)

  it("finds a maximum with maximise = true", function()
    local c = {0.5, -1.5, 2}
    local fb, gb = exp_bowl(c)
    local function f(x) return 1 / fb(x) end
    local function g(x)
      local e, d = fb(x), gb(x)
      for i = 1, #d do d[i] = -d[i] / (e * e) end
      return d
    end
    local x, v = gd.gradient_descent_from_function(f, g,
      {x0 = {0, 0, 0}, learning_rate = 0.1, maximise = true})
    near_all(c, x, 1e-8)
    assert.near(1, v, 1e-8)
    assert.equal("converged", x.minima[1].reason)
  end)

  it("uses central differences without a gradient and says so", function()
    local f = quadratic(2, 0)
    local x, v = from_origin(f, nil)
    near_all({1, -2}, x, 1e-8)
    assert.near(0, v, 1e-12)
    assert.equal("central_differences", x.minima[1].gradient)
  end)

  it("finds all four minima of Himmelblau's function", function()
    local x, v = gd.gradient_descent_from_function(himmelblau,
      himmelblau_gradient, {lower = {-5, -5}, upper = {5, 5},
      restarts = 20, seed = 1, learning_rate = 0.01})
    assert.equal(20, #x.minima)
    assert.near(0, v, 1e-12)
    for i, m in ipairs(x.minima) do
      assert.equal("converged", m.reason)
      if i > 1 then assert.is_true(m.value >= x.minima[i - 1].value) end
    end
    assert.same(flat(x), flat(x.minima[1].x))
    for _, want in ipairs(himmelblau_minima) do
      local found = false
      for _, m in ipairs(x.minima) do
        local p = flat(m.x)
        if math.abs(p[1] - want[1]) < 1e-8
           and math.abs(p[2] - want[2]) < 1e-8 then
          found = true
        end
      end
      assert.is_true(found, "missed the minimum near " .. want[1])
    end
  end)

  it("needs far fewer iterations with momentum when ill-conditioned",
     function()
    local function iterations(o)
      o.x0, o.learning_rate, o.max_iterations = {1, 1}, 0.01, 100000
      local x = gd.gradient_descent_from_function(ill, ill_gradient, o)
      assert.equal("converged", x.minima[1].reason)
      near_all({0, 0}, x, 1e-8)
      return x.minima[1].iterations
    end
    local plain = iterations({})
    local heavy = iterations({momentum = 0.9})
    local nesterov = iterations({momentum = 0.9, nesterov = true})
    assert.is_true(heavy * 3 < plain, heavy .. " vs " .. plain)
    assert.is_true(nesterov * 3 < plain, nesterov .. " vs " .. plain)
  end)

  it("converges with adam", function()
    local x = gd.gradient_descent_from_function(ill, ill_gradient,
      {x0 = {1, 1}, method = "adam", learning_rate = 0.05,
       max_iterations = 20000})
    near_all({0, 0}, x, 1e-8)
    assert.is_not_nil(x.adam_m)
  end)

  it("gives bit-identical results for the same seed", function()
    local function run(seed)
      local x, v = gd.gradient_descent_from_function(himmelblau,
        himmelblau_gradient, {lower = {-5, -5}, upper = {5, 5},
        restarts = 4, seed = seed, learning_rate = 0.005,
        noise_interval = 7, noise_scale = 0.01, noise_eta = 0.01,
        max_iterations = 200})
      local out = {v}
      for _, m in ipairs(x.minima) do
        for _, e in ipairs(flat(m.x)) do out[#out + 1] = e end
      end
      return out
    end
    local a, b = run(42), run(42)
    assert.same(a, b)
    assert.are_not.same(a, run(43))
    gd.seed(9)
    local c = run(nil)
    gd.seed(9)
    assert.same(c, run(nil))
  end)

  it("calls the callback every callback_every iterations", function()
    local seen = {}
    gd.gradient_descent_from_function(ill, ill_gradient,
      {x0 = {1, 1}, max_iterations = 10, callback_every = 3,
       tolerance = 0, callback = function(i, x, value)
         seen[#seen + 1] = i
         assert.near(ill(x), value, 0)
       end})
    assert.same({0, 3, 6, 9}, seen)
  end)

  it("stops a descent when the callback returns false", function()
    local x = gd.gradient_descent_from_function(ill, ill_gradient,
      {x0 = {1, 1}, callback = function(i) return i < 5 end})
    assert.equal("interrupted", x.minima[1].reason)
    assert.equal(5, x.minima[1].iterations)
    assert.is_false(x.minima[1].converged)
  end)

  it("ends at max_iterations", function()
    local x = gd.gradient_descent_from_function(ill, ill_gradient,
      {x0 = {1, 1}, max_iterations = 7})
    assert.equal("max_iterations", x.minima[1].reason)
    assert.equal(7, x.minima[1].iterations)
    assert.equal(7, x.steps)
  end)

  it("ends a restart at a non-finite value and goes on", function()
    local function f(x)
      if x[1] < 0 then return 0 / 0 end
      return (x[1] - 1)^2
    end
    local function g(x) return {2 * (x[1] - 1)} end
    local x, v = gd.gradient_descent_from_function(f, g,
      {lower = {-2}, upper = {2}, restarts = 8, seed = 2,
       learning_rate = 0.1})
    local reasons = {}
    for _, m in ipairs(x.minima) do reasons[m.reason] = true end
    assert.is_true(reasons.non_finite and reasons.converged)
    assert.equal("non_finite", x.minima[#x.minima].reason)
    assert.near(1, x[1], 1e-8)
    assert.near(0, v, 1e-12)
  end)

  it("ends a restart at a non-finite gradient", function()
    local x = gd.gradient_descent_from_function(function(p) return p[1] end,
      function() return {math.huge} end, {x0 = {1}})
    assert.equal("non_finite", x.minima[1].reason)
    assert.equal(0, x.minima[1].iterations)
  end)

  it("raises an error for each bad input", function()
    local run = gd.gradient_descent_from_function
    local function f(x) return x[1]^2 end
    fails_with("bad argument #1", run, "f", nil, {x0 = {1}})
    fails_with("bad argument #2", run, f, 3, {x0 = {1}})
    fails_with("f returned a string, expected a number",
               run, function() return "a" end, nil, {x0 = {1}})
    fails_with("f returned a nil, expected a number",
               run, function() end, nil, {x0 = {1}})
    fails_with("gradient of shape 2 does not match x of shape 1",
               run, f, function() return {1, 2} end, {x0 = {1}})
    fails_with("gradient returned a string, expected a tensor",
               run, f, function() return "g" end, {x0 = {1}})
    fails_with("unknown option 'start'; valid options are learning_rate",
               run, f, nil, {start = {1}})
    fails_with("x0, lower, upper, restarts, max_iterations, tolerance, "
               .. "seed, callback, callback_every", run, f, nil, {y = 1})
    fails_with("x0 or both lower and upper are needed", run, f, nil, {})
    fails_with("x0 or both lower and upper are needed", run, f, nil,
               {lower = {0}})
    fails_with("lower element 1 (2) is above upper (1)", run, f, nil,
               {lower = {2}, upper = {1}})
    fails_with("lower of shape 3 does not broadcast to x of shape 2", run,
               f, nil, {x0 = {1, 2}, lower = {0, 0, 0}, upper = 1})
    fails_with("restarts must be at least 1, got 0", run, f, nil,
               {x0 = {1}, restarts = 0})
    fails_with("tolerance must be a finite number of at least 0", run, f,
               nil, {x0 = {1}, tolerance = -1})
    fails_with("option callback must be a function, got number", run, f,
               nil, {x0 = {1}, callback = 1})
    fails_with("option x0 must be a tensor, table or number, got string",
               run, f, nil, {x0 = "a"})
    fails_with("learning_rate must be a finite number above 0", run, f,
               nil, {x0 = {1}, learning_rate = 0})
  end)

  it("raises errors of f, gradient and callback unchanged", function()
    local run = gd.gradient_descent_from_function
    local function f(x) return x[1]^2 end
    local function g(x) return {2 * x[1]} end
    fails_with("boom in f", run, function() error("boom in f") end, nil,
               {x0 = {1}})
    fails_with("boom in g", run, f, function() error("boom in g") end,
               {x0 = {1}})
    fails_with("boom in cb", run, f, g, {x0 = {1}, restarts = 3,
               lower = {-1}, upper = {1},
               callback = function(i) if i == 2 then error("boom in cb") end
               end})
    local ok, e = pcall(run, function() error({code = 7}) end, nil,
                        {x0 = {1}})
    assert.is_false(ok)
    assert.equal(7, e.code)
  end)
end)
