-- Specs for the copies of the element loops (src/vector.h): the tanh
-- and sigmoid kernels compiled for the baseline x86-64, for x86-64-v3
-- (AVX2 and FMA) and for x86-64-v4 (AVX-512) give the same doubles, bit
-- for bit, and so does the copy this process loaded. Each level is
-- built from src/activation.c with tests/c/kernels_dump.c; a level the
-- processor cannot run is not built, and the loaded copy is compared
-- with the baseline on every machine.
local gd = require "gdnn"
local helpers = require "tests.helpers"
local quote, slurp, spit = helpers.quote, helpers.slurp, helpers.spit
local must = helpers.must

-- Inputs over every range the kernels treat apart: tiny, ordinary,
-- near the cut-offs (20 for tanh, 708 for sigmoid), huge, both signs,
-- and the special values.
local function inputs()
  local xs, seed = {0.0, -0.0, 1 / 0, -1 / 0, 0 / 0, 5e-324, 20, 708,
                    709, 745, 1e300}, 12345
  for _ = 1, 20000 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    local u = seed / 2147483648
    local v = 10 ^ (-20 + 23.5 * u)
    xs[#xs + 1] = (#xs % 2 == 0) and v or -v
  end
  return xs
end

-- The CPU flags of /proc/cpuinfo as a set; empty where there is none.
local function cpu_flags()
  local f, set = io.open("/proc/cpuinfo"), {}
  if f then
    local line = f:read("a"):match("\nflags%s*:%s*([^\n]*)") or ""
    f:close()
    for w in line:gmatch("%S+") do set[w] = true end
  end
  return set
end

local function levels()
  local flags, list = cpu_flags(), {"x86-64"}
  if flags.avx2 and flags.fma and flags.bmi2 then
    list[#list + 1] = "x86-64-v3"
    if flags.avx512f and flags.avx512bw and flags.avx512dq and
       flags.avx512vl and flags.avx512cd then
      list[#list + 1] = "x86-64-v4"
    end
  end
  return list
end

local machine = io.popen("uname -m"):read("l")

describe("the copies of the element loops", function()
  if machine ~= "x86_64" then
    it("are one baseline copy off x86-64", function()
      assert.are_not.equal("x86_64", machine)
    end)
    return
  end

  local xs = inputs()
  local dir, remove = helpers.tempdir()
  local bin = {}
  for i, x in ipairs(xs) do bin[i] = string.pack("=d", x) end
  spit(dir .. "/in", table.concat(bin))

  -- What the kernels built for level write for xs, as bytes.
  local function dump(level)
    local exe = dir .. "/dump-" .. level
    must("cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -march=" .. level ..
         " -DGD_CLONES= -Isrc src/activation.c" ..
         " tests/c/kernels_dump.c libgdnn.a" ..
         " $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)" ..
         " -lm -o " .. quote(exe))
    must(quote(exe) .. " " .. quote(dir .. "/in") .. " " ..
         quote(dir .. "/out-" .. level))
    return slurp(dir .. "/out-" .. level)
  end

  local base = dump("x86-64")

  it("give the baseline's doubles in the copy this process loaded",
     function()
    local t = gd.tensor(xs)
    local got = {}
    for i, y in ipairs(gd.tanh(t):totable()) do
      got[i] = string.pack("=d", y)
    end
    for i, y in ipairs(gd.sigmoid(t):totable()) do
      got[#xs + i] = string.pack("=d", y)
    end
    assert.are.equal(#base, 16 * #xs)
    assert.is_true(table.concat(got) == base)
  end)

  it("give the baseline's doubles at every level this processor runs",
     function()
    local list = levels()
    for k = 2, #list do
      assert.is_true(dump(list[k]) == base, list[k])
    end
  end)

  teardown(remove)
end)
