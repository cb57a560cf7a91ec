-- Fault injection: gd._fail_allocations(n) lets n more core allocations
-- succeed and fails the rest. For N = 0, 1, 2, ... every constructor and
-- operation below must fail with an "out of memory" error (or succeed
-- once N is large enough), leave its inputs unchanged, and leak nothing
-- (leaks are caught by `make sanitize` and `make memcheck`).

local gd = require "gdnn"

local function a23() return gd.arange(0, 6):reshape(2, 3) end

-- Each case builds its inputs (with allocation on) and returns them with
-- the operation to run on them.
local cases = {
  {"zeros", function() return {}, function() return gd.zeros(3, 4) end end},
  {"tensor from a table", function()
     return {}, function() return gd.tensor{{1, 2}, {3, 4}} end end},
  {"eye", function() return {}, function() return gd.eye(3) end end},
  {"arange", function() return {}, function() return gd.arange(0, 9) end end},
  {"randn", function() return {}, function() return gd.randn(4) end end},
  {"clone", function()
     local a = a23()
     return {a}, function() return a:clone() end end},
  {"contiguous of a transpose", function()
     local a = a23()
     return {a}, function() return a:transpose(1, 2):contiguous() end end},
  {"reshape with a copy", function()
     local a = a23()
     return {a}, function() return a:transpose(1, 2):reshape(6) end end},
  {"add with broadcasting", function()
     local a, b = a23(), gd.tensor{10, 20, 30}
     return {a, b}, function() return a + b end end},
  {"exp", function()
     local a = a23()
     return {a}, function() return a:exp() end end},
  {"sum over a dimension", function()
     local a = a23()
     return {a}, function() return a:sum(2) end end},
  {"matmul", function()
     local a, b = a23(), a23():transpose(1, 2)
     return {a, b}, function() return gd.matmul(a, b) end end},
  {"einsum", function()
     gd.einsum_cache_clear()
     local a, b = a23(), gd.arange(0, 12):reshape(3, 4)
     return {a, b}, function() return gd.einsum("ij,jk->ik", a, b) end end},
  {"tostring", function()
     local a = a23()
     return {a}, function() return tostring(a) end end},
  {"GradientDescent", function()
     local a = a23()
     return {a}, function() return gd.GradientDescent(a) end end},
  {"an adam step", function()
     local x = gd.GradientDescent{1, 2}
     local g = gd.tensor{0.5, -0.5}
     return {x, g}, function()
       return gd.gradient_descent_step(x, g, {method = "adam"}) end end},
  {"a search", function()
     return {}, function()
       return gd.gradient_descent_from_function(
         function(v) return (v * v):sum() end, nil,
         {x0 = {1, 2}, max_iterations = 3, restarts = 2,
          lower = {-1, -1}, upper = {1, 1}})
     end end},
  {"save and load", function()
     local a, path = a23(), os.tmpname()
     return {a}, function()
       assert(gd.save(path, a))
       local ok, msg = gd.load(path)
       os.remove(path)
       if not ok then error(msg) end
       return ok
     end end},
}

local function snapshot(list)
  local s = {}
  for i, t in ipairs(list) do s[i] = t:clone() end
  return s
end

describe("gd._fail_allocations", function()
  after_each(function() gd._fail_allocations() end)

  for _, c in ipairs(cases) do
    it("makes " .. c[1] .. " fail cleanly at every allocation", function()
      local failures = 0
      for n = 0, 400 do
        local inputs, op = c[2]()
        local before = snapshot(inputs)
        gd._fail_allocations(n)
        local ok, msg = pcall(op)
        gd._fail_allocations()
        if ok then break end
        for i, t in ipairs(inputs) do
          assert.is_true(t == before[i], "input " .. i .. " changed")
        end
        failures = failures + 1
        msg = tostring(msg)
        assert.is_truthy(msg:find("out of memory") or
                         msg:find("cannot allocate"), msg)
        assert.is_true(n < 400, "still failing after 400 allocations")
      end
      assert.is_true(failures > 0)
      collectgarbage()
    end)
  end
end)
