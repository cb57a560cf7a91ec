-- Specs of gdnn.plot: figures drawn by gnuplot, and the errors raised
-- for bad options, bad colours, a missing gnuplot and gnuplot's own
-- complaints.

local plot = require "gdnn.plot"

-- A fresh temporary folder, removed by the returned function.
local tempdir = require("tests.helpers").tempdir


local function read(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local s = fh:read("a")
  fh:close()
  return s
end


local function exists(path)
  local fh = io.open(path, "rb")
  if fh then fh:close() end
  return fh ~= nil
end


local function sine_points(n)
  local xs, ys = {}, {}
  for i = 1, n do
    xs[i] = (i - 1) / (n - 1) * 2 * math.pi
    ys[i] = math.sin(xs[i])
  end
  return xs, ys
end


-- A one-panel figure of one series, with extra series options.
local function simple(output, series_opts, panel_opts, figure_opts)
  local s = {y = {1, 2, 3}}
  for k, v in pairs(series_opts or {}) do s[k] = v end
  local p = {series = {s}}
  for k, v in pairs(panel_opts or {}) do p[k] = v end
  local f = {output = output, panels = {p}}
  for k, v in pairs(figure_opts or {}) do f[k] = v end
  return f
end


describe("gdnn.plot", function()
  local dir, cleanup

  before_each(function() dir, cleanup = tempdir() end)
  after_each(function() cleanup() end)

  describe("render", function()
    it("writes a PNG file with the PNG signature", function()
      local xs, ys = sine_points(200)
      local out = dir .. "/fit.png"
      assert.equal(out, plot.render{output = out, size = {640, 400},
        panels = {{title = "fit", xlabel = "x", ylabel = "y", series = {
          {x = xs, y = ys, color = "black", width = 2, title = "sin x"},
          {x = xs, y = ys, with = "points", color = "red",
           pointsize = 0.4, title = "samples"},
          {x = xs, y = ys, color = "#2ca02c", alpha = 0.3, dash = "dash"},
        }}}})
      local png = read(out)
      assert.equal("\137PNG\r\n\26\n", png:sub(1, 8))
      assert.is_true(#png > 5000)
    end)

    it("writes an SVG file when the name ends in .svg", function()
      local out = dir .. "/loss.svg"
      plot.render(simple(out, {color = "blue"}, {logy = true}))
      local svg = read(out)
      assert.truthy(svg:find("<svg", 1, true))
      assert.truthy(svg:find("</svg>", 1, true))
    end)

    it("draws panels side by side with log axes and a figure title",
       function()
      local xs, ys = sine_points(50)
      local losses = {}
      for i = 1, 100 do losses[i] = 1 / i end
      local out = dir .. "/two.png"
      plot.render{output = out, size = {900, 400}, title = "two panels",
        panels = {
          {title = "fit", series = {{x = xs, y = ys}}, legend = false},
          {title = "loss", logx = true, logy = true, grid = false,
           xrange = {1, 100}, yrange = {0.001, nil},
           series = {{y = losses, color = "steelblue", width = 1}}},
        }}
      assert.equal("\137PNG", read(out):sub(1, 4))
    end)

    it("reads values from anything with a totable method", function()
      local tensor_like = {totable = function() return {{1, 4, 9}} end}
      local out = dir .. "/t.png"
      plot.render(simple(out, {x = {1, 2, 3}, y = tensor_like}))
      assert.is_true(exists(out))
    end)

    it("builds figures step by step", function()
      local out = dir .. "/steps.png"
      local fig = plot.figure{output = out, size = {500, 300}}
      fig:panel{title = "a"}:lines({1, 2, 3}, {3, 1, 2}, {color = "red"})
        :points({1, 2, 3}, {3, 1, 2}, {pointsize = 1, point = "square"})
      fig:panel{title = "b", logy = true}:lines({1, 10, 100})
      assert.equal(out, fig:render())
      assert.equal("\137PNG", read(out):sub(1, 4))
    end)

    it("leaves no temporary file behind, even when gnuplot fails",
       function()
      local made = {}
      local tmpname = os.tmpname
      os.tmpname = function()
        local name = tmpname()
        made[#made + 1] = name
        return name
      end
      local ok = pcall(plot.render, simple(dir .. "/a.png"))
      local failed = pcall(plot.render,
                           simple(dir .. "/b.png", {y = {-1, -2}},
                                  {logy = true}))
      os.tmpname = tmpname
      assert.is_true(ok)
      assert.is_false(failed)
      assert.equal(2, #made)
      for _, name in ipairs(made) do assert.is_false(exists(name)) end
    end)

    it("passes quotes and newlines in titles through literally",
       function()
      local out = dir .. "/q.png"
      plot.render(simple(out, {title = "it's \"x\"\nand y"},
                         {title = "a'b", xlabel = "x_1^2"}))
      assert.is_true(exists(out))
    end)
  end)

  describe("script", function()
    it("writes colours with gnuplot's transparency byte", function()
      local s = plot.script(simple("a.png", {color = "red", alpha = 0.25}))
      assert.truthy(s:find("'#bfe41a1c'", 1, true))
      s = plot.script(simple("a.png", {color = "#abc"}))
      assert.truthy(s:find("'#00aabbcc'", 1, true))
    end)

    it("writes dash patterns, point sizes and log scales", function()
      local s = plot.script(simple("a.png", {dash = {8, 4}},
                                   {logx = true, logy = true}))
      assert.truthy(s:find("dashtype (8,4)", 1, true))
      assert.truthy(s:find("set logscale x", 1, true))
      assert.truthy(s:find("set logscale y", 1, true))
      s = plot.script(simple("a.png", {with = "points", pointsize = 2}))
      assert.truthy(s:find("pointsize 2", 1, true))
    end)

    it("passes the data inline and writes NaN for gaps", function()
      local s = plot.script(simple("a.png", {y = {1, 0 / 0, math.huge}}))
      assert.truthy(s:find("$p1s1 << EOD\n1 1\n2 NaN\n3 NaN\nEOD", 1, true))
    end)

    it("picks the terminal from the file name and the size", function()
      local s = plot.script(simple("a.PNG", nil, nil, {size = {300, 200}}))
      assert.truthy(s:find("set terminal pngcairo size 300,200", 1, true))
      s = plot.script(simple("a.svg"))
      assert.truthy(s:find("set terminal svg", 1, true))
    end)
  end)

  describe("errors", function()
    local cases = {
      {"an unknown figure option",
       simple("a.png", nil, nil, {colour = "red"}),
       "plot: unknown option 'colour' in the figure"},
      {"an unknown panel option", simple("a.png", nil, {logz = true}),
       "plot: unknown option 'logz' in panel 1"},
      {"an unknown series option", simple("a.png", {colour = "red"}),
       "plot: unknown option 'colour' in series 1 of panel 1"},
      {"a bad colour name", simple("a.png", {color = "bleu"}),
       "plot: bad colour 'bleu' in series 1 of panel 1 (a name such as " ..
       "'red' or '#rrggbb')"},
      {"a bad hex colour", simple("a.png", {color = "#12345"}),
       "plot: bad colour '#12345' in series 1 of panel 1"},
      {"an opacity out of range", simple("a.png", {alpha = 1.5}),
       "plot: bad alpha in series 1 of panel 1: expected a number in " ..
       "[0, 1], got 1.5"},
      {"a bad dash", simple("a.png", {dash = "wavy"}),
       "plot: bad dash 'wavy' in series 1 of panel 1"},
      {"a bad line width", simple("a.png", {width = -1}),
       "plot: bad width in series 1 of panel 1: expected a positive " ..
       "number, got -1"},
      {"a bad style", simple("a.png", {with = "bars"}),
       "plot: bad with 'bars' in series 1 of panel 1"},
      {"x and y of different lengths", simple("a.png", {x = {1, 2}}),
       "plot: x and y of series 1 of panel 1 differ in length (2 and 3)"},
      {"values that are not numbers", simple("a.png", {y = {1, "a"}}),
       "plot: y in series 1 of panel 1 holds a string, expected numbers"},
      {"an output of unknown kind", simple("a.pdf"),
       "plot: bad output 'a.pdf': the name must end in .png or .svg"},
      {"no output and no window", simple(nil),
       "plot: no output: give output = 'file.png' or 'file.svg', or " ..
       "window = true"},
      {"a figure without panels", {output = "a.png", panels = {}},
       "plot: the figure has no panels"},
      {"a panel without series", {output = "a.png", panels = {{}}},
       "plot: panel 1 has no series"},
      {"a bad size", simple("a.png", nil, nil, {size = {0, 10}}),
       "plot: bad size in the figure: expected a positive number, got 0"},
    }
    for _, case in ipairs(cases) do
      it("names " .. case[1], function()
        local ok, err = pcall(plot.render, case[2])
        assert.is_false(ok)
        assert.equal(case[3], err:sub(1, #case[3]))
      end)
    end

    it("names the package to install when gnuplot is missing", function()
      local f = simple(dir .. "/a.png", nil, nil,
                       {gnuplot = dir .. "/no/such/gnuplot"})
      assert.has_error(function() plot.render(f) end,
        "plot: cannot run gnuplot at '" .. dir .. "/no/such/gnuplot' " ..
        "(install the Debian package gnuplot-nox)")
      assert.is_false(exists(dir .. "/a.png"))
    end)

    it("raises gnuplot's own message", function()
      local ok, err = pcall(plot.render, simple(dir .. "/a.png",
                            {y = {-1, -2}}, {logy = true}))
      assert.is_false(ok)
      assert.truthy(err:find("^plot: gnuplot failed: line %d+: all " ..
                             "points y value undefined!$"))
      assert.is_false(exists(dir .. "/a.png"))
    end)

    it("raises gnuplot's message for an output it cannot write",
       function()
      local ok, err = pcall(plot.render, simple(dir .. "/no/dir/a.png"))
      assert.is_false(ok)
      assert.truthy(err:find("^plot: gnuplot failed: line %d+: cannot " ..
                             "open file; output not changed"))
    end)

    it("asks for a display before opening a window", function()
      local getenv = os.getenv
      os.getenv = function(name)
        if name == "DISPLAY" then return nil end
        return getenv(name)
      end
      local ok, err = pcall(plot.render,
                            simple(nil, nil, nil, {window = true}))
      os.getenv = getenv
      assert.is_false(ok)
      assert.equal("plot: no display for a window (DISPLAY is not set)",
                   err)
    end)
  end)
end)
