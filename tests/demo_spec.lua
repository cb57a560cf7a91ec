-- Specs of the demos (scripts/sine.lua, scripts/helix.lua and
-- scripts/demo.lua, run as gdnn-lua runs them) and of gdnn.progress,
-- which prints their training progress. The runs that train are
-- tagged #slow; they use few iterations.

local progress = require "gdnn.progress"
local helpers = require "tests.helpers"

-- The interpreter that runs the scripts: gdnn-lua of this tree, or
-- another one named by GDNN_LUA.
local INTERP = os.getenv("GDNN_LUA") or "./gdnn-lua"


-- A fresh temporary folder, and the function that removes it.
local tempdir = helpers.tempdir


-- Run a demo script with args; returns its exit status, its standard
-- output and its standard error.
local function run(script, args)
  local cmd = string.format("%s scripts/%s %s", INTERP, script, args or "")
  local out, err, code = helpers.capture(cmd)
  return code, out, err
end


-- True when path holds a PNG image of more than min bytes.
local function is_png(path, min)
  local fh = io.open(path, "rb")
  if not fh then return false end
  local data = fh:read("a")
  fh:close()
  return data:sub(1, 8) == "\137PNG\r\n\26\n" and #data > min
end


-- A file-like object that keeps what is written to it.
local function sink()
  local s = {text = ""}
  function s:write(...)
    self.text = self.text .. table.concat({...})
    return self
  end
  function s:flush() end
  return s
end


describe("gdnn.progress", function()
  local function clock_from(times)
    local i = 0
    return function()
      i = i + 1
      return times[math.min(i, #times)]
    end
  end

  it("writes plain lines with iteration, loss and rate", function()
    local out = sink()
    local bar = progress.new{total = 200, label = "fit", out = out,
                             tty = false, clock = clock_from{0, 2, 4}}
    bar:update(100, 0.5)
    bar:update(200, 0.25)
    bar:finish()
    assert.equal("fit  iteration 100/200  loss 5.000000e-01  50 it/s\n" ..
                 "fit  iteration 200/200  loss 2.500000e-01  50 it/s\n",
                 out.text)
  end)

  it("redraws one bar on a terminal and ends its line", function()
    local out = sink()
    local bar = progress.new{total = 4, out = out, tty = true, width = 4,
                             clock = clock_from{0, 1, 2}}
    bar:update(2, 1)
    bar:update(4, 0.5)
    bar:finish()
    assert.equal("\r[##--]  50%  iteration 2/4  loss 1.000000e+00  " ..
                 "2 it/s" ..
                 "\r[####] 100%  iteration 4/4  loss 5.000000e-01  " ..
                 "2 it/s\n", out.text)
  end)

  it("shows no rate before any time has passed", function()
    local out = sink()
    local bar = progress.new{total = 1, out = out, tty = false,
                             clock = function() return 7 end}
    bar:update(1, 2)
    assert.equal("iteration 1/1  loss 2.000000e+00  - it/s\n", out.text)
  end)

  it("refuses unknown options and a bad total", function()
    assert.has_error(function() progress.new{total = 5, colour = 1} end,
                     "progress: unknown option 'colour'")
    assert.has_error(function() progress.new{total = 0} end,
                     "progress: total must be a positive integer")
  end)
end)


describe("the demo scripts", function()
  local dir, cleanup

  before_each(function() dir, cleanup = tempdir() end)
  after_each(function() cleanup() end)

  it("print their usage for --help", function()
    for _, script in ipairs{"sine.lua", "helix.lua", "demo.lua"} do
      local code, out = run(script, "--help")
      assert.equal(0, code)
      assert.truthy(out:find("usage: gdnn-lua scripts/" .. script, 1,
                             true))
    end
  end)

  it("refuse unknown options and bad values", function()
    local code, _, err = run("sine.lua", "--bogus")
    assert.are_not.equal(0, code)
    assert.truthy(err:find("sine: unknown option '--bogus' (see --help)",
                           1, true))
    code, _, err = run("helix.lua", "--layers 1,10,3")
    assert.are_not.equal(0, code)
    assert.truthy(err:find("helix: --layers needs sizes like 1,10,2", 1,
                           true))
    code, _, err = run("sine.lua", "--iterations")
    assert.are_not.equal(0, code)
    assert.truthy(err:find("sine: --iterations needs a value", 1, true))
  end)

  it("train the sine and draw its two plots #slow", function()
    local code, out = run("sine.lua", "--iterations 60 --samples 12 " ..
                          "--out '" .. dir .. "'")
    assert.equal(0, code)
    local lines = 0
    for _ in out:gmatch("sine  iteration +%d+/60  loss [%d.e+-]+  ") do
      lines = lines + 1
    end
    assert.equal(10, lines)
    assert.truthy(out:find("sine: RMS error over 1000 points " ..
                           "%(rescaled units%) %d%.%d+"))
    assert.is_true(is_png(dir .. "/sine.png", 5000))
    assert.is_true(is_png(dir .. "/sine_loss.png", 2000))
  end)

  it("train the helix and draw its two plots #slow", function()
    local code, out = run("helix.lua", "--iterations 60 --quiet " ..
                          "--out '" .. dir .. "'")
    assert.equal(0, code)
    assert.is_nil(out:find("iteration", 1, true))
    assert.truthy(out:find("helix: RMS error over 1000 points"))
    assert.is_true(is_png(dir .. "/helix.png", 5000))
    assert.is_true(is_png(dir .. "/helix_loss.png", 2000))
  end)

  it("run both demos and write the four plots #slow", function()
    local code, out = run("demo.lua", "--iterations 30 --quiet " ..
                          "--out '" .. dir .. "'")
    assert.equal(0, code)
    assert.truthy(out:find("demo: RMS errors %(rescaled units%): " ..
                           "sine %d%.%d+, helix %d%.%d+"))
    for _, name in ipairs{"sine", "sine_loss", "helix", "helix_loss"} do
      assert.is_true(is_png(dir .. "/" .. name .. ".png", 2000))
    end
  end)

  it("give the same numbers for the same seed #slow", function()
    local args = "--iterations 40 --quiet --seed 3 --out '" .. dir .. "'"
    local _, a = run("sine.lua", args)
    local _, b = run("sine.lua", args)
    local _, c = run("sine.lua", args:gsub("seed 3", "seed 4"))
    assert.equal(a, b)
    assert.are_not.equal(a, c)
  end)
end)
