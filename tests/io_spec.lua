-- Specs for gd.save, gd.load, gd.save_npy and gd.load_npy: round trips
-- of tensors, GradientDescent objects and networks, every kind of bad
-- file, a writer killed in the middle of a save, and .npy files made by
-- NumPy (tests/data/npy/make_npy.py). The format's versions are
-- checked in format_spec.lua.

local gd = require "gdnn"
local helpers = require "tests.helpers"

local NPY = "tests/data/npy/"

local slurp, spit = helpers.slurp, helpers.spit
local reseal, patch = helpers.reseal, helpers.patch

-- 1 when a and b hold the same bits (NaN included).
local function same_values(a, b)
  assert.same(a:shape(), b:shape())
  local fa, fb = a:reshape(-1):totable(), b:reshape(-1):totable()
  for i = 1, #fa do
    if string.pack("<d", fa[i]) ~= string.pack("<d", fb[i]) then
      return false
    end
  end
  return true
end

describe("gd.save and gd.load", function()
  local path = os.tmpname()
  after_each(function() helpers.remove_saved(path) end)

  describe("of tensors", function()
    it("round-trip values bit for bit, NaN and infinities included", function()
      local t = gd.tensor{{1 / 3, -0.0, 1e308}, {0 / 0, math.huge, -math.huge}}
      assert.is_true(gd.save(path, t))
      local back = assert(gd.load(path))
      assert.is_true(gd.istensor(back))
      assert.is_true(same_values(t, back))
    end)

    it("keep every shape: 0-d, 1-d, 3-d and empty", function()
      for _, t in ipairs{gd.tensor(2.5), gd.arange(0, 7), gd.randn(2, 3, 4),
                         gd.zeros(0, 3)} do
        assert.is_true(gd.save(path, t))
        local back = assert(gd.load(path))
        assert.same(t:shape(), back:shape())
        assert.is_true(same_values(t, back))
      end
    end)

    it("save a strided view as its values in row-major order", function()
      local t = gd.arange(0, 12):reshape(3, 4):transpose(1, 2)
      assert.is_true(gd.save(path, t))
      local back = assert(gd.load(path))
      assert.is_true(back == t:contiguous())
      assert.is_true(back:is_contiguous())
    end)

    it("accept a nested table or a number as the value", function()
      assert.is_true(gd.save(path, {{1, 2}, {3, 4}}))
      assert.is_true(assert(gd.load(path)) == gd.tensor{{1, 2}, {3, 4}})
    end)

    it("write a little-endian header with magic, version, dtype and shape",
       function()
      assert.is_true(gd.save(path, gd.zeros(2, 3)))
      local s = slurp(path)
      assert.equal("GDNNTEN\26", s:sub(1, 8))
      local fields = {string.unpack("<I4I4I8I4I4I8I8", s, 9)}
      fields[#fields] = nil                 -- the position after them
      assert.same({1, 1, #s, 2, 0, 2, 3}, fields)
      assert.equal(#s, 24 + 8 + 16 + 48 + 8)
    end)

    it("give the file the mode of any new file, not mkstemp's 0600",
       function()
      assert.is_true(gd.save(path, gd.ones(2)))
      local p = io.popen("umask; stat -c %a '" .. path .. "'")
      local umask, mode = p:read("l"), p:read("l")
      p:close()
      assert.equal(string.format("%o", 438 & ~tonumber(umask, 8)), mode)
    end)

    it("replace an existing file", function()
      assert.is_true(gd.save(path, gd.ones(3)))
      assert.is_true(gd.save(path, gd.zeros(2)))
      assert.is_true(assert(gd.load(path)) == gd.zeros(2))
    end)

    it("return nil and a message for a directory that does not exist",
       function()
      local ok, msg = gd.save("/nonexistent-dir/x.gdt", gd.ones(2))
      assert.is_nil(ok)
      assert.matches("save: '/nonexistent%-dir/x%.gdt': No such file", msg)
    end)
  end)

  describe("of GradientDescent objects", function()
    local function trained()
      local x = gd.GradientDescent{{1, -2, 3}}
      for i = 1, 4 do
        x:step({{0.1 * i, 0.2, -0.3}}, {method = "adam", learning_rate = 0.1})
      end
      x:step({{1, 1, 1}}, {momentum = 0.9, noise_scale = 0.01})
      return x
    end

    it("keep the variable, its history and its counters", function()
      local x = trained()
      assert.is_true(gd.save(path, x))
      local y = assert(gd.load(path))
      assert.matches("GradientDescent", tostring(y))
      assert.equal(x.steps, y.steps)
      for _, k in ipairs{"gradient_current", "gradient_previous",
                         "gradient_step", "adam_m", "adam_v"} do
        assert.is_true(same_values(x[k], y[k]), k)
      end
      assert.is_true(same_values(x, y))
    end)

    it("continue exactly as the original would", function()
      local x = trained()
      assert.is_true(gd.save(path, x))
      local y = assert(gd.load(path))
      local o = {method = "adam", learning_rate = 0.05}
      for _ = 1, 3 do
        x:step({{0.3, -0.1, 0.2}}, o)
        y:step({{0.3, -0.1, 0.2}}, o)
      end
      assert.is_true(same_values(x, y))
    end)

    it("keep the minima of a search", function()
      local x = gd.gradient_descent_from_function(
        function(v) return (v * v):sum() end, nil,
        {lower = {-1, -1}, upper = {1, 1}, restarts = 3, seed = 4,
         max_iterations = 20, learning_rate = 0.1})
      assert.is_true(gd.save(path, x))
      local y = assert(gd.load(path))
      local a, b = x.minima, y.minima
      assert.equal(3, #b)
      for i = 1, 3 do
        assert.equal(a[i].value, b[i].value)
        assert.equal(a[i].iterations, b[i].iterations)
        assert.equal(a[i].reason, b[i].reason)
        assert.equal(a[i].gradient, b[i].gradient)
        assert.equal(a[i].restart, b[i].restart)
        assert.is_true(same_values(a[i].x, b[i].x))
      end
    end)

    it("save without adam's moments when adam never ran", function()
      local x = gd.GradientDescent{1, 2}
      x:step({1, 1})
      assert.is_true(gd.save(path, x))
      local y = assert(gd.load(path))
      assert.is_true(same_values(x, y))
      assert.equal(1, y.steps)
    end)
  end)

  describe("of networks", function()
    it("round-trip through the network format", function()
      local net = gd.Network{layer_node_nums = {2, 3, 1}, seed = 2}
      assert.is_true(gd.save(path, net))
      assert.equal("GDNNNET\26", slurp(path):sub(1, 8))
      local back = assert(gd.load(path))
      local X = gd.randn(2, 4)
      assert.is_true(net:forward(X) == back:forward(X))
    end)
  end)

  describe("of bad files", function()
    local kinds = {
      tensor = function() return gd.randn(3, 2) end,
      GradientDescent = function()
        local x = gd.GradientDescent{1, 2, 3}
        x:step({1, 0, -1}, {method = "adam"})
        return x
      end,
      network = function()
        return gd.Network{layer_node_nums = {2, 2}, seed = 1}
      end,
    }

    local function expect(s, pattern)
      spit(path, s)
      local v, msg = gd.load(path)
      assert.is_nil(v)
      assert.is_string(msg)
      assert.matches(pattern, msg)
    end

    for name, make in pairs(kinds) do
      describe("(" .. name .. ")", function()
        local good
        before_each(function()
          assert.is_true(gd.save(path, make()))
          good = slurp(path)
        end)

        it("report every truncation as truncated", function()
          for _, n in ipairs{0, 1, 7, 8, 20, 31, #good // 2, #good - 1} do
            expect(good:sub(1, n), "truncated")
          end
        end)

        it("report a changed byte as a checksum mismatch", function()
          for _, k in ipairs{25, #good // 2, #good - 8, #good} do
            local c = string.char((good:byte(k) + 1) % 256)
            expect(patch(good, k, c), "corrupted %(checksum mismatch%)")
          end
        end)

        it("report trailing bytes", function()
          expect(good .. "x", "corrupted %(trailing bytes%)")
        end)

        it("report a wrong magic", function()
          expect("PK\3\4" .. good:sub(5), "wrong magic")
          expect(("\0"):rep(64), "wrong magic")
        end)

        it("report a future version", function()
          expect(patch(good, 9, string.pack("<I4", 7)),
                 "format version 7 is newer")
        end)

        it("report a header whose sizes disagree", function()
          local s = patch(good, 17, string.pack("<I8", #good + 8))
          expect(reseal(s .. ("\0"):rep(8)), "corrupted")
        end)
      end)
    end

    it("report an unsupported dtype", function()
      assert.is_true(gd.save(path, gd.ones(2)))
      expect(reseal(patch(slurp(path), 13, string.pack("<I4", 2))),
             "unsupported dtype 2")
    end)

    it("report impossible shapes without allocating them", function()
      assert.is_true(gd.save(path, gd.ones(2, 2)))
      local s = slurp(path)
      expect(reseal(patch(s, 25, string.pack("<I4", 17))),
             "corrupted %(bad header%)")
      expect(reseal(patch(s, 33, string.pack("<i8", -1))),
             "corrupted %(bad shape%)")
      expect(reseal(patch(s, 33, string.pack("<I8", 1 << 40))),
             "corrupted %(sizes disagree%)")
    end)

    it("report a GradientDescent state out of range", function()
      local x = gd.GradientDescent{1}
      assert.is_true(gd.save(path, x))
      local s = slurp(path)
      -- has_spare is the u32 after steps, adam_steps and the generator
      local at = 24 + 8 + 8 + 48 + 1
      expect(reseal(patch(s, at, string.pack("<I4", 5))),
             "corrupted %(bad state%)")
      -- a minima count that the length does not allow
      expect(reseal(patch(s, at + 16, string.pack("<I8", 1 << 60))),
             "corrupted %(sizes disagree%)")
    end)

    it("report a missing file by its system message", function()
      local v, msg = gd.load(path .. ".missing")
      assert.is_nil(v)
      assert.matches("load: '.*%.missing': No such file", msg)
    end)
  end)

  describe("under a writer killed with SIGKILL", function()
    -- The interpreter that runs the writer: gdnn-lua when built, or
    -- lua5.4 with ./gdnn.so.
    local function interp()
      local f = io.open("./gdnn-lua", "rb")
      if f then
        f:close()
        return "./gdnn-lua"
      end
      return "LUA_CPATH='./?.so;;' lua5.4"
    end

    it("leaves the old file or the new one, never a mix", function()
      local script = os.tmpname()
      spit(script, ([[
        local gd = require "gdnn"
        local t = gd.zeros(1000, 1000)
        for i = 1, 1000000 do
          t:fill(i)
          assert(gd.save(%q, t))
        end
      ]]):format(path))
      assert.is_true(gd.save(path, gd.full({1000, 1000}, -1)))
      for round = 1, 3 do
        local pidfile = os.tmpname()
        os.execute(interp() .. " " .. script .. " >/dev/null 2>&1 & echo $! > "
                   .. pidfile)
        local pid = assert(tonumber(slurp(pidfile)))
        os.remove(pidfile)
        os.execute("sleep 0." .. (2 + 2 * round) .. "; kill -9 " .. pid ..
                   "; wait " .. pid .. " 2>/dev/null; sleep 0.1")
        local t = assert(gd.load(path))
        assert.same({1000, 1000}, t:shape())
        local lo, hi = t:min(), t:max()
        assert.equal(lo, hi)
        assert.is_true(lo == -1 or lo >= 1)
      end
      os.remove(script)
    end)
  end)
end)

describe("gd.load_npy and gd.save_npy", function()
  local path = os.tmpname() .. ".npy"
  after_each(function() os.remove(path) end)

  local function counting(shape)
    local n = 1
    for _, s in ipairs(shape) do n = n * s end
    return gd.arange(0, n):reshape(shape)
  end

  it("refuse an empty shape whose other sizes are past addressing",
     function()
    -- found by the loaders fuzzer: 666666666666666661x6x3x0, int8
    local t, msg = gd.load_npy("fuzz/corpus/loaders/regress-empty-huge-shape")
    assert.is_nil(t)
    assert.is_string(msg)
  end)

  it("read float64 files that NumPy wrote, in C and Fortran order",
     function()
    assert.is_true(gd.load_npy(NPY .. "f8_2x3.npy") == counting{2, 3})
    assert.is_true(gd.load_npy(NPY .. "f8_fortran_2x3.npy") == counting{2, 3})
    assert.is_true(gd.load_npy(NPY .. "f8_3d_2x3x4.npy") == counting{2, 3, 4})
    assert.is_true(gd.load_npy(NPY .. "f8_fortran_2x3x4.npy")
                   == counting{2, 3, 4})
  end)

  it("read the other numeric dtypes as float64", function()
    assert.is_true(gd.load_npy(NPY .. "f4_2x3.npy") == counting{2, 3})
    assert.is_true(gd.load_npy(NPY .. "i4_big_2x3.npy") == counting{2, 3})
    assert.is_true(gd.load_npy(NPY .. "i8_neg_3.npy") == gd.tensor{-1, -2, 3})
    assert.is_true(gd.load_npy(NPY .. "i2_neg_3.npy")
                   == gd.tensor{-1, -300, 7})
    assert.is_true(gd.load_npy(NPY .. "u1_4.npy") == gd.tensor{0, 1, 2, 3})
    assert.is_true(gd.load_npy(NPY .. "bool_3.npy") == gd.tensor{1, 0, 1})
  end)

  it("read 0-d and empty arrays", function()
    local s = gd.load_npy(NPY .. "f8_scalar.npy")
    assert.equal(0, s:dim())
    assert.equal(2.5, s:totable())
    assert.same({0, 3}, gd.load_npy(NPY .. "f8_empty_0x3.npy"):shape())
  end)

  it("refuse complex numbers", function()
    local v, msg = gd.load_npy(NPY .. "c16_2.npy")
    assert.is_nil(v)
    assert.matches("unsupported dtype", msg)
  end)

  it("write the same bytes as numpy.save", function()
    assert.is_true(gd.save_npy(path, counting{2, 3}))
    assert.equal(slurp(NPY .. "f8_2x3.npy"), slurp(path))
  end)

  it("go through gd.save and gd.load for a .npy path", function()
    local t = gd.randn(3, 1, 2):transpose(1, 3)
    assert.is_true(gd.save(path, t))
    assert.equal("\147NUMPY", slurp(path):sub(1, 6))
    assert.is_true(same_values(t:contiguous(), assert(gd.load(path))))
    local z = gd.tensor(7)
    assert.is_true(gd.save(path, z))
    assert.is_true(assert(gd.load(path)) == z)
  end)

  it("report bad .npy files", function()
    local good = slurp(NPY .. "f8_2x3.npy")
    local cases = {
      {good:sub(1, 5), "truncated"},
      {good:sub(1, 60), "truncated"},
      {good:sub(1, -2), "truncated"},
      {good .. "x", "corrupted %(trailing bytes%)"},
      {patch(good, 7, "\4"), "npy format version 4%.0 is newer"},
      {patch(good, 12, "{'dexcr"), "corrupted %(bad header%)"},
      {patch(good, 61, "(2, 3, 9999999999999999999999)"), "bad shape"},
      {"\147NUMPX" .. good:sub(7), "wrong magic"},
    }
    for _, c in ipairs(cases) do
      spit(path, c[1])
      local v, msg = gd.load_npy(path)
      assert.is_nil(v)
      assert.matches(c[2], msg)
    end
  end)

  it("refuse a value that is not a tensor", function()
    assert.has_error(function() gd.save_npy(path, "x") end,
      "bad argument #2 to 'save_npy' (tensor expected, got string)")
    assert.has_error(function() gd.save("x.gdt", true) end,
      "bad argument #2 to 'save' (tensor, GradientDescent or Network " ..
      "expected, got boolean)")
    assert.has_error(function() gd.load() end,
      "bad argument #1 to 'load' (string expected, got no value)")
  end)
end)

describe("gd._interrupt", function()
  it("stops gradient_descent_from_function at the end of the iteration",
     function()
    local seen = 0
    local x = gd.gradient_descent_from_function(
      function(v) return (v * v):sum() end, nil,
      {x0 = {3, 4}, learning_rate = 0.01, max_iterations = 1000,
       restarts = 5, lower = {-5, -5}, upper = {5, 5}, seed = 1,
       callback = function(it)
         seen = seen + 1
         if it == 7 then gd._interrupt() end
       end})
    local m = x.minima
    assert.equal(1, #m)
    assert.equal("interrupted", m[1].reason)
    assert.equal(7, m[1].iterations)
    assert.equal(8, seen)
  end)

  it("affects only the run it stops", function()
    local x = gd.gradient_descent_from_function(
      function(v) return (v * v):sum() end, nil,
      {x0 = {1}, learning_rate = 0.4, max_iterations = 50})
    assert.are_not.equal("interrupted", x.minima[1].reason)
  end)
end)
