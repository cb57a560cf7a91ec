-- gdnn.plot: line and point plots drawn by gnuplot through a pipe.
--
-- A figure is a table of options with one or more panels side by side;
-- each panel holds series of lines or points. The script and the data
-- (inline data blocks) go to gnuplot's standard input, so no data file
-- is written; gnuplot's own error output goes to a temporary file that
-- is removed before render returns, and its message becomes the Lua
-- error.
--
--   local plot = require "gdnn.plot"
--   plot.render{output = "out/fit.png", size = {900, 450}, panels = {
--     {title = "fit", xlabel = "x", series = {
--       {x = xs, y = ys, color = "black", width = 2, title = "sin x"},
--       {x = px, y = py, with = "points", color = "red"}}}}}
--
-- or, step by step:
--
--   local fig = plot.figure{output = "out/loss.svg"}
--   fig:panel{logy = true}:lines(it, loss, {color = "blue"})
--   fig:render()
--
-- Limits: outputs are PNG (pngcairo) or SVG, chosen by the file name,
-- or a window where a display exists and gnuplot has a windowing
-- terminal (gnuplot-nox has none); panels are laid out in one row; text
-- is taken literally (no gnuplot enhanced-text markup).

local M = {}

-- The program run when a figure names none.
M.gnuplot = "gnuplot"

-- Colour names understood besides "#rrggbb" and "#rgb".
M.colors = {
  black = "000000", white = "ffffff", gray = "808080", grey = "808080",
  lightgray = "d3d3d3", lightgrey = "d3d3d3", darkgray = "404040",
  darkgrey = "404040", red = "e41a1c", darkred = "8b0000",
  green = "2ca02c", darkgreen = "006400", lightgreen = "90ee90",
  blue = "1f77b4", darkblue = "00008b", lightblue = "add8e6",
  navy = "000080", orange = "ff7f0e", purple = "9467bd",
  brown = "8c564b", pink = "e377c2", olive = "808000", cyan = "17becf",
  teal = "008080", magenta = "ff00ff", yellow = "ffd700",
  gold = "ffd700", violet = "ee82ee", steelblue = "4682b4",
}

-- Point shapes by name, as gnuplot point types.
local point_types = {
  plus = 1, cross = 2, star = 3, square = 5, circle = 7, triangle = 9,
  diamond = 13, ring = 6, box = 4,
}

-- Dash patterns by name, as gnuplot dash strings.
local dash_names = {
  solid = false, dash = "-", dashed = "-", dot = ".", dotted = ".",
  dashdot = "-.", longdash = "--  ",
}

local figure_keys = {
  output = true, size = true, title = true, panels = true,
  gnuplot = true, window = true, font = true, background = true,
}
local panel_keys = {
  title = true, xlabel = true, ylabel = true, logx = true, logy = true,
  xrange = true, yrange = true, legend = true, grid = true,
  series = true, aspect = true,
}
local series_keys = {
  x = true, y = true, with = true, color = true, alpha = true,
  width = true, dash = true, pointsize = true, point = true,
  title = true,
}


-- Raise a plot error with a clean message (no position prefix).
local function fail(fmt, ...)
  error("plot: " .. string.format(fmt, ...), 0)
end


-- Check that every key of t is in allowed; where names where t sits.
local function check_keys(t, allowed, where)
  if type(t) ~= "table" then
    fail("%s must be a table, got %s", where, type(t))
  end
  for k in pairs(t) do
    if not allowed[k] then
      local names = {}
      for name in pairs(allowed) do names[#names + 1] = name end
      table.sort(names)
      fail("unknown option '%s' in %s (known: %s)", tostring(k), where,
           table.concat(names, ", "))
    end
  end
end


-- A gnuplot string literal: single quotes take everything literally
-- except a doubled quote; control characters become spaces.
local function quote(s)
  s = tostring(s):gsub("[%c]", " "):gsub("'", "''")
  return "'" .. s .. "'"
end


-- A word for the POSIX shell.
local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


-- The colour spec as "RRGGBB" from a name or "#rgb" / "#rrggbb".
local function parse_color(c, where)
  if type(c) ~= "string" then
    fail("bad colour in %s: expected a name or '#rrggbb', got %s", where,
         type(c))
  end
  local hex = M.colors[c:lower()]
  if hex then return hex end
  local h = c:match("^#(%x+)$")
  if h and #h == 6 then return h:lower() end
  if h and #h == 3 then
    return (h:lower():gsub("%x", "%0%0"))
  end
  fail("bad colour '%s' in %s (a name such as 'red' or '#rrggbb')", c,
       where)
end


-- The gnuplot colour of a series: "#AARRGGBB" where AA is the
-- transparency (gnuplot's convention: 00 is opaque).
local function color_spec(s, where)
  local hex = parse_color(s.color or "black", where)
  local alpha = s.alpha or 1
  if type(alpha) ~= "number" or alpha ~= alpha or alpha < 0 or alpha > 1
  then
    fail("bad alpha in %s: expected a number in [0, 1], got %s", where,
         tostring(alpha))
  end
  local transparency = math.floor((1 - alpha) * 255 + 0.5)
  return string.format("#%02x%s", transparency, hex)
end


-- The dashtype clause of a series, or "" for a solid line.
local function dash_spec(d, where)
  if d == nil or d == false then return "" end
  if type(d) == "string" then
    local named = dash_names[d]
    if named == false then return "" end
    local pattern = named or d
    if not pattern:match("^[-._ ]+$") then
      fail("bad dash '%s' in %s (a name such as 'dash' or a pattern " ..
           "of '-', '.', '_' and spaces)", d, where)
    end
    return " dashtype " .. quote(pattern)
  end
  if type(d) == "table" and #d >= 2 and #d % 2 == 0 then
    local parts = {}
    for i, v in ipairs(d) do
      if type(v) ~= "number" or v <= 0 then
        fail("bad dash in %s: lengths must be positive numbers", where)
      end
      parts[i] = string.format("%g", v)
    end
    return " dashtype (" .. table.concat(parts, ",") .. ")"
  end
  fail("bad dash in %s: expected a name, a pattern or an even list " ..
       "of lengths", where)
end


-- A positive number option, or nil when absent.
local function positive(v, name, where)
  if v == nil then return nil end
  if type(v) ~= "number" or not (v > 0) or v == math.huge then
    fail("bad %s in %s: expected a positive number, got %s", name, where,
         tostring(v))
  end
  return v
end


-- A flat list of numbers from a tensor (anything with totable), a
-- list or a nested list.
local function numbers(v, name, where)
  if type(v) == "userdata" or (type(v) == "table" and v.totable) then
    local ok, t = pcall(function() return v:totable() end)
    if not ok or type(t) ~= "table" then
      fail("%s in %s cannot be read as numbers", name, where)
    end
    v = t
  end
  if type(v) ~= "table" then
    fail("%s in %s must be a tensor or a table of numbers, got %s",
         name, where, type(v))
  end
  local out = {}
  local function walk(t)
    for _, e in ipairs(t) do
      if type(e) == "table" then
        walk(e)
      elseif type(e) == "number" then
        out[#out + 1] = e
      else
        fail("%s in %s holds a %s, expected numbers", name, where,
             type(e))
      end
    end
  end
  walk(v)
  return out
end


-- A number as gnuplot reads it; NaN and infinities become gaps.
local function num(v)
  if v ~= v or v == math.huge or v == -math.huge then return "NaN" end
  return string.format("%.17g", v)
end


-- Append the data block $name holding the columns x, y to out.
local function data_block(out, name, xs, ys)
  out[#out + 1] = name .. " << EOD"
  for i = 1, #ys do
    out[#out + 1] = num(xs[i]) .. " " .. num(ys[i])
  end
  out[#out + 1] = "EOD"
end


-- The plot clause of one series, after its data block went to out.
local function series_clause(out, s, name, where)
  check_keys(s, series_keys, where)
  if s.y == nil then fail("%s has no y values", where) end
  local ys = numbers(s.y, "y", where)
  local xs
  if s.x == nil then
    xs = {}
    for i = 1, #ys do xs[i] = i end
  else
    xs = numbers(s.x, "x", where)
  end
  if #xs ~= #ys then
    fail("x and y of %s differ in length (%d and %d)", where, #xs, #ys)
  end
  data_block(out, name, xs, ys)

  local with = s.with or "lines"
  if with ~= "lines" and with ~= "points" and with ~= "linespoints" then
    fail("bad with '%s' in %s (lines, points or linespoints)",
         tostring(with), where)
  end
  local clause = {name, " with ", with, " linecolor rgb ",
                  quote(color_spec(s, where))}
  if with ~= "points" then
    local width = positive(s.width, "width", where) or 1.5
    clause[#clause + 1] = string.format(" linewidth %g", width)
    clause[#clause + 1] = dash_spec(s.dash, where)
  end
  if with ~= "lines" then
    local pt = point_types[s.point or "circle"]
    if not pt then fail("bad point '%s' in %s", tostring(s.point), where) end
    local size = positive(s.pointsize, "pointsize", where) or 0.5
    clause[#clause + 1] = string.format(" pointtype %d pointsize %g", pt,
                                        size)
  end
  if s.title then
    clause[#clause + 1] = " title " .. quote(s.title)
  else
    clause[#clause + 1] = " notitle"
  end
  return table.concat(clause)
end


-- A "[a:b]" range from a pair of numbers (either may be nil for auto).
local function range(r, name, where)
  if type(r) ~= "table" then
    fail("bad %s in %s: expected {min, max}", name, where)
  end
  local a, b = r[1], r[2]
  for _, v in ipairs{a or 0, b or 0} do
    if type(v) ~= "number" or v ~= v then
      fail("bad %s in %s: expected {min, max}", name, where)
    end
  end
  return string.format("[%s:%s]", a and num(a) or "*",
                       b and num(b) or "*")
end


-- Append the settings and the plot command of panel p to out.
local function panel_script(out, p, k)
  local where = "panel " .. k
  check_keys(p, panel_keys, where)
  local cmds = {"reset", "set border lw 1", "set tics out nomirror"}
  cmds[#cmds + 1] = "set title " .. quote(p.title or "")
  cmds[#cmds + 1] = "set xlabel " .. quote(p.xlabel or "")
  cmds[#cmds + 1] = "set ylabel " .. quote(p.ylabel or "")
  if p.logx then
    cmds[#cmds + 1] = "set logscale x"
    cmds[#cmds + 1] = "set format x '%g'"
  end
  if p.logy then
    cmds[#cmds + 1] = "set logscale y"
    cmds[#cmds + 1] = "set format y '%g'"
  end
  if p.xrange then
    cmds[#cmds + 1] = "set xrange " .. range(p.xrange, "xrange", where)
  end
  if p.yrange then
    cmds[#cmds + 1] = "set yrange " .. range(p.yrange, "yrange", where)
  end
  if p.grid ~= false then
    cmds[#cmds + 1] = "set grid lc rgb '#d0d0d0' lw 1"
  end
  if p.aspect then
    cmds[#cmds + 1] = "set size ratio " ..
      string.format("%g", positive(p.aspect, "aspect", where))
  end
  local titled = false
  for _, s in ipairs(type(p.series) == "table" and p.series or {}) do
    if type(s) == "table" and s.title then titled = true end
  end
  if p.legend == false or not titled then
    cmds[#cmds + 1] = "unset key"
  else
    local pos = p.legend or "top right"
    if type(pos) ~= "string" or not pos:match("^[%a ]+$") then
      fail("bad legend in %s: expected a position such as " ..
           "'top right' or false", where)
    end
    cmds[#cmds + 1] = "set key " .. pos ..
      " opaque box lc rgb '#cccccc' samplen 2"
  end

  local series = p.series or {}
  if type(series) ~= "table" or #series == 0 then
    fail("%s has no series", where)
  end
  local clauses = {}
  for i, s in ipairs(series) do
    local name = string.format("$p%ds%d", k, i)
    clauses[i] = series_clause(cmds, s, name,
                               string.format("series %d of %s", i, where))
  end
  for _, c in ipairs(cmds) do out[#out + 1] = c end
  out[#out + 1] = "plot " .. table.concat(clauses, ", \\\n  ")
end


-- The terminal and output lines for the figure f.
local function terminal_script(f)
  local size = f.size or {640 * #f.panels, 480}
  if type(size) ~= "table" then
    fail("bad size: expected {width, height} in pixels")
  end
  local w = positive(size[1], "size", "the figure")
  local h = positive(size[2], "size", "the figure")
  if not w or not h then
    fail("bad size: expected {width, height} in pixels")
  end
  local font = f.font and (" font " .. quote(f.font)) or ""
  local bg = f.background or "white"
  bg = "'#" .. parse_color(bg, "the figure background") .. "'"
  local out = f.output
  if out == nil then
    if not f.window then
      fail("no output: give output = 'file.png' or 'file.svg', " ..
           "or window = true")
    end
    if not os.getenv("DISPLAY") then
      fail("no display for a window (DISPLAY is not set)")
    end
    return {string.format("set terminal x11 persist size %d,%d%s", w, h,
                          font)}
  end
  if type(out) ~= "string" then
    fail("bad output: expected a file name, got %s", type(out))
  end
  local ext = out:match("%.(%w+)$")
  ext = ext and ext:lower()
  local term
  if ext == "png" then
    term = string.format("set terminal pngcairo size %d,%d noenhanced " ..
                         "background %s%s", w, h, bg, font)
  elseif ext == "svg" then
    term = string.format("set terminal svg size %d,%d noenhanced " ..
                         "background %s%s", w, h, bg, font)
  else
    fail("bad output '%s': the name must end in .png or .svg", out)
  end
  return {term, "set output " .. quote(out)}
end


-- The whole gnuplot script of figure f, as one string.
function M.script(f)
  check_keys(f, figure_keys, "the figure")
  if type(f.panels) ~= "table" or #f.panels == 0 then
    fail("the figure has no panels")
  end
  local out = terminal_script(f)
  local n = #f.panels
  if n > 1 or f.title then
    out[#out + 1] = string.format("set multiplot layout 1,%d%s", n,
      f.title and (" title " .. quote(f.title)) or "")
  end
  for k, p in ipairs(f.panels) do panel_script(out, p, k) end
  if n > 1 or f.title then out[#out + 1] = "unset multiplot" end
  if f.output then out[#out + 1] = "set output" end
  out[#out + 1] = ""
  return table.concat(out, "\n")
end


-- The useful part of gnuplot's error output: from the line that says
-- where it stopped ("line 7: ..."), without the file name gnuplot puts
-- before it; otherwise the last non-empty line.
local function gnuplot_message(text)
  local lines = {}
  for line in text:gmatch("[^\n]+") do
    local l = line:gsub("^%s+", ""):gsub("%s+$", "")
    if l ~= "" and l ~= "^" then lines[#lines + 1] = l end
  end
  for i, l in ipairs(lines) do
    local at = l:find("line %d+:")
    if at then
      lines[i] = l:sub(at)
      return table.concat(lines, ": ", i)
    end
  end
  return lines[#lines] or ""
end


-- Run gnuplot (program prog) on script; raise its message on failure.
-- A program that cannot be run names the package to install.
local function run(prog, script)
  local errfile = os.tmpname()
  local cmd = string.format(
    "{ %s /dev/stdin >/dev/null 2>%s; s=$?; cat >/dev/null; exit $s; }",
    shell_quote(prog), shell_quote(errfile))
  local pipe = io.popen(cmd, "w")
  if not pipe then
    os.remove(errfile)
    fail("cannot start a shell to run gnuplot")
  end
  local wrote, werr = pcall(pipe.write, pipe, script)
  local _, how, code = pipe:close()
  local fh = io.open(errfile, "r")
  local text = fh and fh:read("a") or ""
  if fh then fh:close() end
  os.remove(errfile)

  if how == "exit" and (code == 127 or code == 126) then
    fail("cannot run gnuplot at '%s' (install the Debian package " ..
         "gnuplot-nox)", prog)
  end
  if how ~= "exit" or code ~= 0 then
    local msg = gnuplot_message(text)
    if msg == "" then msg = string.format("exit status %s", code) end
    fail("gnuplot failed: %s", msg)
  end
  if not wrote then fail("cannot write to gnuplot: %s", tostring(werr)) end
end


-- Draw figure f (a table as in the header) into f.output, or a window.
-- Returns the output name. Raises an error naming the bad option, or
-- with gnuplot's message when gnuplot refuses the script.
function M.render(f)
  local script = M.script(f)
  local prog = f.gnuplot or M.gnuplot
  if type(prog) ~= "string" or prog == "" then
    fail("bad gnuplot: expected a program name or path")
  end
  local existed = f.output and io.open(f.output, "r")
  if existed then existed:close() end
  local ok, err = pcall(run, prog, script)
  if not ok then
    if f.output and not existed then os.remove(f.output) end
    error(err, 0)
  end
  return f.output
end


local Figure = {}
Figure.__index = Figure

local Panel = {}
Panel.__index = Panel


-- A figure to fill with panels and render; opts are the figure options
-- of render (output, size, title, gnuplot, window, font, background).
function M.figure(opts)
  local f = {}
  for k, v in pairs(opts or {}) do f[k] = v end
  f.panels = f.panels or {}
  return setmetatable(f, Figure)
end


-- Add a panel (options as a panel table of render) and return it.
function Figure:panel(opts)
  local p = {}
  for k, v in pairs(opts or {}) do p[k] = v end
  p.series = p.series or {}
  table.insert(self.panels, p)
  return setmetatable(p, Panel)
end


-- Draw the figure; output, when given, replaces the figure's.
function Figure:render(output)
  if output then self.output = output end
  local plain = {}
  for k, v in pairs(self) do plain[k] = v end
  return M.render(plain)
end


-- Add a series drawn as with, from x and y (y alone counts 1, 2, ...).
local function add(p, with, x, y, opts)
  if y == nil then x, y = nil, x end
  local s = {}
  for k, v in pairs(opts or {}) do s[k] = v end
  s.with, s.x, s.y = with, x, y
  table.insert(p.series, s)
  return p
end


-- Lines through the points (x[i], y[i]); returns the panel.
function Panel:lines(x, y, opts) return add(self, "lines", x, y, opts) end


-- Points at (x[i], y[i]); returns the panel.
function Panel:points(x, y, opts) return add(self, "points", x, y, opts) end


return M
