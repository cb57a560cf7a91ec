-- gdnn.datasets: the samples the demos learn from, and CSV loading.
--
-- A data set holds samples as columns: x is n_in x m and y is n_out x m
-- (gdnn tensors), as the network expects. Generators also keep the
-- inputs and targets rescaled to [0, 1] (X and Y) with the scales
-- that map them back, so a network with sigmoid outputs can fit any
-- range and its predictions can be drawn in the original units.
--
--   local datasets = require "gdnn.datasets"
--   local d = datasets.sine{samples = 40, seed = 7}
--   net:train(d.X, d.Y, ...)
--   local grid = d:curve(1000)         -- evenly spaced, noise-free
--   local yhat = d:unscale_y(net:forward(grid.X))
--
-- Limits: random numbers come from this module's own splitmix64
-- stream (one per generator call), independent of gdnn.seed; the CSV
-- reader takes plain numeric fields (no quoting) and one optional
-- header line.

local M = {}

local Dataset = {}
Dataset.__index = Dataset


-- Raise a datasets error with a clean message.
local function fail(fmt, ...)
  error("datasets: " .. string.format(fmt, ...), 0)
end


-- The gdnn module, loaded on first use so that scales and the random
-- stream work on plain tables without it.
local function gd()
  return require "gdnn"
end


-- A stream of uniform and normal numbers from seed (splitmix64; Lua
-- integers wrap on overflow, so the stream is the same everywhere).
function M.random(seed)
  if math.type(seed) ~= "integer" then
    fail("seed must be an integer, got %s", tostring(seed))
  end
  local state = seed
  local r = {}
  function r.bits()
    state = state + 0x9e3779b97f4a7c15
    local z = state
    z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
    z = (z ~ (z >> 27)) * 0x94d049bb133111eb
    return z ~ (z >> 31)
  end
  -- Uniform in [0, 1) with 53 random bits.
  function r.uniform()
    return (r.bits() >> 11) * 2.0 ^ -53
  end
  -- Standard normal by the Box-Muller transform.
  function r.normal()
    local u1 = 1 - r.uniform()
    local u2 = r.uniform()
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
  end
  return r
end


-- Rows (a list of lists, one per feature) from a tensor or a table.
local function rows_of(v, name)
  if type(v) == "userdata" or (type(v) == "table" and v.totable) then
    v = v:totable()
  end
  if type(v) ~= "table" then
    fail("%s must be a tensor or a table, got %s", name, type(v))
  end
  if type(v[1]) == "number" then return {v}, true end
  return v, false
end


-- The scale of rows: per-row minimum and maximum, or one pair for all
-- rows when joint is set.
function M.scale(v, joint)
  local rows = rows_of(v, "values")
  local lo, hi = {}, {}
  for i, row in ipairs(rows) do
    lo[i], hi[i] = math.huge, -math.huge
    for _, e in ipairs(row) do
      if e < lo[i] then lo[i] = e end
      if e > hi[i] then hi[i] = e end
    end
  end
  if joint then
    local a, b = math.min(table.unpack(lo)), math.max(table.unpack(hi))
    for i = 1, #rows do lo[i], hi[i] = a, b end
  end
  return {min = lo, max = hi}
end


-- Map rows through (v - min) / (max - min), or back when inverse is
-- set. A constant row (max == min) has span 1. Returns the same kind
-- as v: a tensor for a tensor, a table for a table.
local function map(v, scale, inverse)
  if type(scale) ~= "table" or type(scale.min) ~= "table" then
    fail("bad scale: expected {min = {...}, max = {...}}")
  end
  local is_tensor = type(v) == "userdata"
    or (type(v) == "table" and v.totable ~= nil)
  local rows, flat = rows_of(v, "values")
  if #rows ~= #scale.min then
    fail("the scale has %d rows, the values %d", #scale.min, #rows)
  end
  local out = {}
  for i, row in ipairs(rows) do
    local lo = scale.min[i]
    local span = scale.max[i] - lo
    if span == 0 then span = 1 end
    local r = {}
    for j, e in ipairs(row) do
      if inverse then r[j] = lo + e * span else r[j] = (e - lo) / span end
    end
    out[i] = r
  end
  if flat then out = out[1] end
  if is_tensor then return gd().tensor(out) end
  return out
end


-- v in [0, 1] units of scale.
function M.rescale(v, scale) return map(v, scale, false) end


-- v from [0, 1] units back to the original ones.
function M.unscale(v, scale) return map(v, scale, true) end


local generator_keys = {
  samples = true, range = true, noise = true, seed = true,
  spacing = true, joint = true,
}


-- Check generator options and fill in defaults.
local function options(opts, defaults)
  opts = opts or {}
  if type(opts) ~= "table" then fail("options must be a table") end
  for k in pairs(opts) do
    if not generator_keys[k] then
      fail("unknown option '%s'", tostring(k))
    end
  end
  local o = {}
  for k, v in pairs(defaults) do o[k] = v end
  for k, v in pairs(opts) do o[k] = v end
  if math.type(o.samples) ~= "integer" or o.samples < 1 then
    fail("samples must be a positive integer, got %s",
         tostring(o.samples))
  end
  local r = o.range
  if type(r) ~= "table" or type(r[1]) ~= "number"
     or type(r[2]) ~= "number" or not (r[1] < r[2]) then
    fail("range must be {a, b} with a < b")
  end
  if type(o.noise) ~= "number" or not (o.noise >= 0) then
    fail("noise must be a number >= 0, got %s", tostring(o.noise))
  end
  if o.spacing ~= "random" and o.spacing ~= "stratified"
     and o.spacing ~= "even" then
    fail("spacing must be 'random', 'stratified' or 'even', got %s",
         tostring(o.spacing))
  end
  M.random(o.seed)      -- checks the seed
  return o
end


-- The inputs: m values in [a, b], in increasing order: evenly spaced,
-- uniform at random, or stratified (one uniform draw in each of m
-- equal parts of the range, so no part is left without samples).
local function inputs(o, rng)
  local a, b, m = o.range[1], o.range[2], o.samples
  local t = {}
  for j = 1, m do
    if o.spacing == "even" then
      t[j] = m == 1 and a or a + (b - a) * (j - 1) / (m - 1)
    elseif o.spacing == "stratified" then
      t[j] = a + (b - a) * (j - 1 + rng.uniform()) / m
    else
      t[j] = a + (b - a) * rng.uniform()
    end
  end
  if o.spacing == "random" then table.sort(t) end
  return t
end


-- A data set of f (a function of one number returning a list of
-- outputs) sampled per o. The target scale comes from the noise-free
-- curve on 1000 even points, so the true curve lies in [0, 1].
local function make(f, o)
  local rng = M.random(o.seed)
  local t = inputs(o, rng)
  local n_out = #f(o.range[1])
  local y = {}
  for i = 1, n_out do y[i] = {} end
  for j, tj in ipairs(t) do
    local v = f(tj)
    for i = 1, n_out do
      y[i][j] = v[i] + (o.noise > 0 and o.noise * rng.normal() or 0)
    end
  end

  local dense = {}
  for i = 1, n_out do dense[i] = {} end
  for k = 0, 999 do
    local v = f(o.range[1] + (o.range[2] - o.range[1]) * k / 999)
    for i = 1, n_out do dense[i][k + 1] = v[i] end
  end
  local d = setmetatable({
    f = f, options = o,
    xscale = {min = {o.range[1]}, max = {o.range[2]}},
    yscale = M.scale(dense, o.joint),
  }, Dataset)
  d:fill({t}, y)
  return d
end


-- Set x, y (tensors of the rows given) and their rescaled X, Y.
function Dataset:fill(xrows, yrows)
  local T = gd().tensor
  self.x, self.y = T(xrows), T(yrows)
  self.X = T(M.rescale(xrows, self.xscale))
  self.Y = T(M.rescale(yrows, self.yscale))
  self.samples = #xrows[1]
end


-- The noise-free curve at n evenly spaced inputs over the range, as a
-- data set with the same scales.
function Dataset:curve(n)
  local o = {}
  for k, v in pairs(self.options) do o[k] = v end
  o.samples, o.spacing, o.noise = n, "even", 0
  o = options(o, {})
  local t = inputs(o)
  local y = {}
  for j, tj in ipairs(t) do
    for i, v in ipairs(self.f(tj)) do
      y[i] = y[i] or {}
      y[i][j] = v
    end
  end
  local d = setmetatable({f = self.f, options = o, xscale = self.xscale,
                          yscale = self.yscale}, Dataset)
  d:fill({t}, y)
  return d
end


-- Predictions in [0, 1] units mapped back to the targets' units.
function Dataset:unscale_y(v) return M.unscale(v, self.yscale) end


-- Inputs in the original units mapped to the network's [0, 1] units.
function Dataset:rescale_x(v) return M.rescale(v, self.xscale) end


-- Samples of sin(x) for x in range (default [0, 2 pi]): opts samples
-- (default 40), range, noise (standard deviation, default 0), seed
-- (default 1), spacing ("stratified", the default: one random input in
-- each of samples equal parts of the range; "random": uniform draws;
-- "even": evenly spaced).
function M.sine(opts)
  local o = options(opts, {samples = 40, range = {0, 2 * math.pi},
                           noise = 0, seed = 1, spacing = "stratified"})
  return make(function(x) return {math.sin(x)} end, o)
end


-- Samples of the spiral f(t) = [t cos t, t sin t] for t in range
-- (default [0, 4 pi], two turns): two targets per sample; options as
-- for sine (default 60 samples), joint to share one scale between the
-- two targets.
function M.helix(opts)
  local o = options(opts, {samples = 60, range = {0, 4 * math.pi},
                           noise = 0, seed = 1, spacing = "stratified"})
  return make(function(t) return {t * math.cos(t), t * math.sin(t)} end,
              o)
end


-- Split a CSV line into fields.
local function fields(line, sep)
  local out = {}
  local pos = 1
  while true do
    local at = line:find(sep, pos, true)
    out[#out + 1] = line:sub(pos, (at or 0) - 1):match("^%s*(.-)%s*$")
    if not at then break end
    pos = at + #sep
  end
  return out
end


-- Read the numeric rows of an open CSV file; see load_csv.
local function read_csv(fh, path, sep)
  local rows, header, width = {}, nil, nil
  local n = 0
  for line in fh:lines() do
    n = n + 1
    line = line:gsub("\r$", "")
    if line:match("%S") and not line:match("^%s*#") then
      local f = fields(line, sep)
      local nums, bad = {}, nil
      for i, s in ipairs(f) do
        nums[i] = tonumber(s)
        if not nums[i] and not bad then bad = i end
      end
      if bad and #rows == 0 and not header then
        header = f
        width = #f
      elseif bad then
        return nil, string.format("datasets: %s line %d column %d: " ..
          "'%s' is not a number", path, n, bad, f[bad])
      elseif width and #f ~= width then
        return nil, string.format("datasets: %s line %d has %d " ..
          "columns, expected %d", path, n, #f, width)
      else
        width = #f
        rows[#rows + 1] = nums
      end
    end
  end
  if #rows == 0 then
    return nil, string.format("datasets: %s holds no rows of numbers",
                              path)
  end
  return rows, header
end


-- Load the columns of a CSV file (one sample a line, one feature a
-- column) as a tensor with samples as columns: features x samples.
-- opts: columns (a list of 1-based column numbers to keep, in order),
-- separator (default ","). Blank lines and lines starting with # are
-- skipped; a first line that is not numeric is a header. Returns the
-- tensor and the header's names (or nil), or nil and a message.
function M.load_csv(path, opts)
  opts = opts or {}
  if type(path) ~= "string" then
    fail("load_csv: path must be a string, got %s", type(path))
  end
  local sep = opts.separator or ","
  local fh, err = io.open(path, "r")
  if not fh then return nil, "datasets: cannot open " .. err end
  local rows, header = read_csv(fh, path, sep)
  fh:close()
  if not rows then return nil, header end

  local cols = opts.columns
  if cols == nil then
    cols = {}
    for i = 1, #rows[1] do cols[i] = i end
  end
  local out, names = {}, header and {} or nil
  for k, c in ipairs(cols) do
    if math.type(c) ~= "integer" or c < 1 or c > #rows[1] then
      return nil, string.format("datasets: %s has %d columns, no " ..
        "column %s", path, #rows[1], tostring(c))
    end
    out[k] = {}
    for j, row in ipairs(rows) do out[k][j] = row[c] end
    if names then names[k] = header[c] end
  end
  return gd().tensor(out), names
end


return M
