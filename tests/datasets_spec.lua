-- Specs of gdnn.datasets: the sine and helix generators, rescaling and
-- CSV loading, samples as columns.

local datasets = require "gdnn.datasets"
local gd = require "gdnn"
local helpers = require "tests.helpers"


local function rows(t) return t:totable() end


local function min_max(list)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(list) do
    lo, hi = math.min(lo, v), math.max(hi, v)
  end
  return lo, hi
end


describe("gdnn.datasets", function()
  describe("random", function()
    it("gives the same stream for the same seed", function()
      local a, b = datasets.random(42), datasets.random(42)
      for _ = 1, 10 do assert.equal(a.uniform(), b.uniform()) end
      assert.are_not.equal(datasets.random(1).uniform(),
                           datasets.random(2).uniform())
    end)

    it("draws uniform numbers in [0, 1) with mean one half", function()
      local r, sum = datasets.random(3), 0
      for _ = 1, 20000 do
        local u = r.uniform()
        assert.is_true(u >= 0 and u < 1)
        sum = sum + u
      end
      assert.near(0.5, sum / 20000, 0.01)
    end)

    it("draws normal numbers with mean 0 and deviation 1", function()
      local r, sum, sq = datasets.random(5), 0, 0
      for _ = 1, 20000 do
        local z = r.normal()
        sum, sq = sum + z, sq + z * z
      end
      assert.near(0, sum / 20000, 0.03)
      assert.near(1, math.sqrt(sq / 20000), 0.03)
    end)

    it("refuses a seed that is not an integer", function()
      assert.has_error(function() datasets.random(1.5) end,
                       "datasets: seed must be an integer, got 1.5")
    end)
  end)

  describe("sine", function()
    it("makes 1 x m inputs and targets, samples as columns", function()
      local d = datasets.sine{samples = 25}
      assert.equal(1, #rows(d.x))
      assert.equal(25, #rows(d.x)[1])
      assert.equal(25, #rows(d.y)[1])
      assert.equal(25, #rows(d.X)[1])
      assert.equal(25, #rows(d.Y)[1])
      assert.equal(25, d.samples)
    end)

    it("samples sin(x) for x in [0, 2 pi] by default", function()
      local d = datasets.sine{samples = 200, seed = 9}
      local x, y = rows(d.x)[1], rows(d.y)[1]
      local lo, hi = min_max(x)
      assert.is_true(lo >= 0 and hi <= 2 * math.pi)
      assert.is_true(lo < 0.2 and hi > 2 * math.pi - 0.2)
      for j = 1, #x do assert.near(math.sin(x[j]), y[j], 1e-12) end
    end)

    it("keeps the inputs and targets in [0, 1] units", function()
      local d = datasets.sine{samples = 50, range = {-1, 3}}
      local x, X = rows(d.x)[1], rows(d.X)[1]
      local y, Y = rows(d.y)[1], rows(d.Y)[1]
      for j = 1, 50 do
        assert.near((x[j] + 1) / 4, X[j], 1e-12)
        assert.is_true(Y[j] >= 0 and Y[j] <= 1)
        assert.near(y[j], datasets.unscale({Y[j]}, d.yscale)[1], 1e-12)
      end
    end)

    it("gives the same samples for the same seed", function()
      local a = rows(datasets.sine{seed = 4}.x)[1]
      local b = rows(datasets.sine{seed = 4}.x)[1]
      local c = rows(datasets.sine{seed = 5}.x)[1]
      assert.same(a, b)
      assert.are_not.same(a, c)
    end)

    it("adds normal noise of the given deviation", function()
      local d = datasets.sine{samples = 4000, noise = 0.1, seed = 2}
      local x, y = rows(d.x)[1], rows(d.y)[1]
      local sum, sq = 0, 0
      for j = 1, #x do
        local e = y[j] - math.sin(x[j])
        sum, sq = sum + e, sq + e * e
      end
      assert.near(0, sum / #x, 0.01)
      assert.near(0.1, math.sqrt(sq / #x), 0.005)
    end)

    it("spaces inputs evenly on request", function()
      local x = rows(datasets.sine{samples = 5, spacing = "even",
                                   range = {0, 1}}.x)[1]
      for j, v in ipairs{0, 0.25, 0.5, 0.75, 1} do
        assert.near(v, x[j], 1e-15)
      end
    end)

    local bad = {
      {{samples = 0}, "datasets: samples must be a positive integer, got 0"},
      {{samples = 2.5},
       "datasets: samples must be a positive integer, got 2.5"},
      {{range = {1, 1}}, "datasets: range must be {a, b} with a < b"},
      {{noise = -1}, "datasets: noise must be a number >= 0, got -1"},
      {{spacing = "grid"},
       "datasets: spacing must be 'random', 'stratified' or 'even', got grid"},
      {{seed = "x"}, "datasets: seed must be an integer, got x"},
      {{sample = 3}, "datasets: unknown option 'sample'"},
    }
    for _, case in ipairs(bad) do
      it("refuses " .. case[2]:match("datasets: (.*)"), function()
        assert.has_error(function() datasets.sine(case[1]) end, case[2])
      end)
    end
  end)

  describe("helix", function()
    it("samples [t cos t, t sin t] as two target rows", function()
      local d = datasets.helix{samples = 30, seed = 3}
      local t, y = rows(d.x)[1], rows(d.y)
      assert.equal(2, #y)
      assert.equal(30, #y[2])
      for j = 1, 30 do
        assert.near(t[j] * math.cos(t[j]), y[1][j], 1e-12)
        assert.near(t[j] * math.sin(t[j]), y[2][j], 1e-12)
      end
    end)

    it("scales each target row to [0, 1], or both jointly", function()
      local d = datasets.helix{}
      assert.are_not.equal(d.yscale.min[1], d.yscale.min[2])
      local j = datasets.helix{joint = true}
      assert.equal(j.yscale.min[1], j.yscale.min[2])
      assert.equal(j.yscale.max[1], j.yscale.max[2])
    end)
  end)

  describe("curve", function()
    it("gives n even noise-free points with the same scales", function()
      local d = datasets.helix{samples = 10, noise = 0.3}
      local c = d:curve(1000)
      local t, y, Y = rows(c.x)[1], rows(c.y), rows(c.Y)
      assert.equal(1000, #t)
      assert.near(0, t[1], 1e-15)
      assert.near(4 * math.pi, t[1000], 1e-12)
      assert.near(t[500] * math.cos(t[500]), y[1][500], 1e-12)
      assert.same(d.yscale, c.yscale)
      local lo, hi = min_max(Y[1])
      assert.near(0, lo, 1e-12)
      assert.near(1, hi, 1e-12)
    end)
  end)

  describe("rescale and unscale", function()
    it("round-trip tables and tensors", function()
      local v = {{1, 5, 3}, {-2, 0, 2}}
      local s = datasets.scale(v)
      assert.same({min = {1, -2}, max = {5, 2}}, s)
      local r = datasets.rescale(v, s)
      assert.same({{0, 1, 0.5}, {0, 0.5, 1}}, r)
      assert.same(v, datasets.unscale(r, s))
      local t = datasets.unscale(datasets.rescale(gd.tensor(v), s), s)
      assert.same(v, t:totable())
    end)

    it("treat a flat list as one row", function()
      local s = datasets.scale({2, 4})
      assert.same({0, 1}, datasets.rescale({2, 4}, s))
    end)

    it("give a constant row a span of one", function()
      local s = datasets.scale({{3, 3}})
      assert.same({{0, 0}}, datasets.rescale({{3, 3}}, s))
    end)

    it("refuse values and scales of different heights", function()
      assert.has_error(function()
        datasets.rescale({{1}, {2}}, {min = {0}, max = {1}})
      end, "datasets: the scale has 1 rows, the values 2")
    end)
  end)

  describe("load_csv", function()
    local files = {}
    after_each(function()
      for _, f in ipairs(files) do os.remove(f) end
      files = {}
    end)
    local function csv(text)
      local name = helpers.tempfile(text)
      files[#files + 1] = name
      return name
    end

    it("loads one sample a line as one sample a column", function()
      local t, names = datasets.load_csv(csv("1,2,3\n4,5,6\n"))
      assert.same({{1, 4}, {2, 5}, {3, 6}}, t:totable())
      assert.is_nil(names)
    end)

    it("reads a header, comments, blank lines and CRLF", function()
      local t, names = datasets.load_csv(csv(
        "x, y\r\n# a comment\r\n\r\n0.5, -1e-3\r\n1.5, 2\r\n"))
      assert.same({"x", "y"}, names)
      assert.same({{0.5, 1.5}, {-1e-3, 2}}, t:totable())
    end)

    it("keeps the columns asked for, in order", function()
      local t, names = datasets.load_csv(csv("a;b;c\n1;2;3\n4;5;6\n"),
        {separator = ";", columns = {3, 1}})
      assert.same({{3, 6}, {1, 4}}, t:totable())
      assert.same({"c", "a"}, names)
    end)

    it("returns nil and a message for a missing file", function()
      local t, err = datasets.load_csv("/no/such/file.csv")
      assert.is_nil(t)
      assert.equal("datasets: cannot open /no/such/file.csv: " ..
                   "No such file or directory", err)
    end)

    it("returns nil and a message for a field that is not a number",
       function()
      local name = csv("1,2\n3,x\n")
      local t, err = datasets.load_csv(name)
      assert.is_nil(t)
      assert.equal("datasets: " .. name .. " line 2 column 2: 'x' is " ..
                   "not a number", err)
    end)

    it("returns nil and a message for ragged rows", function()
      local name = csv("1,2\n3,4,5\n")
      local t, err = datasets.load_csv(name)
      assert.is_nil(t)
      assert.equal("datasets: " .. name .. " line 2 has 3 columns, " ..
                   "expected 2", err)
    end)

    it("returns nil and a message for a file without numbers", function()
      local name = csv("a,b\n\n")
      local t, err = datasets.load_csv(name)
      assert.is_nil(t)
      assert.equal("datasets: " .. name .. " holds no rows of numbers", err)
    end)

    it("returns nil and a message for a column out of range", function()
      local name = csv("1,2\n")
      local t, err = datasets.load_csv(name, {columns = {3}})
      assert.is_nil(t)
      assert.equal("datasets: " .. name .. " has 2 columns, no column 3",
                   err)
    end)
  end)
end)
