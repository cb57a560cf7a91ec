-- gdnn.demo: what the demo scripts (scripts/sine.lua, scripts/helix.lua)
-- have in common: the command line, training a sigmoid network with
-- progress lines and snapshots, the RMS error of the fit, the loss plot
-- and the closing report. A script describes its own demo in a table
-- and hands it to demo.run:
--
--   local demo = require "gdnn.demo"
--   return demo.run({
--     name = "sine",                    -- prefix of messages and files
--     usage = USAGE,                    -- the --help text
--     defaults = {samples = 40, iterations = 20000, method = "adam",
--                 learning_rate = 0.05, layers = {1, 6, 1}, seed = 1,
--                 out = "out", quiet = false},
--     outputs = 1,                      -- the last layer size
--     layers_rule = "sizes like 1,6,1 (first and last 1)",
--     dataset = datasets.sine,          -- f{samples =, seed =}
--     draw = function(d, grid, snapshots, final, o) ... return path end,
--   }, {...})
--
-- Limits: the network is always a sigmoid one seeded with --seed; the
-- grid of the fit has 1000 points; under --distributed only rank 0
-- makes the output folder, prints and draws.

local gd = require "gdnn"
local plot = require "gdnn.plot"
local progress = require "gdnn.progress"

local M = {}


-- Raise a command-line error of the demo called name.
local function usage_error(name, fmt, ...)
  error(name .. ": " .. string.format(fmt, ...) .. " (see --help)", 0)
end


-- Check the fields of a demo table (see the module comment).
local FIELDS = {name = "string", usage = "string", defaults = "table",
                outputs = "number", layers_rule = "string",
                dataset = "function", draw = "function"}
local function check(demo)
  if type(demo) ~= "table" then
    error("demo: the demo must be a table, not " .. type(demo), 3)
  end
  for _, k in ipairs{"name", "usage", "defaults", "outputs",
                     "layers_rule", "dataset", "draw"} do
    if type(demo[k]) ~= FIELDS[k] then
      error(string.format("demo: field %s must be a %s, not %s", k,
                          FIELDS[k], type(demo[k])), 3)
    end
  end
end


-- Parse the command line argv of demo (see the module comment) into an
-- options table that starts from demo.defaults. Returns nil for --help
-- and raises "name: ... (see --help)" for a bad option or value.
function M.parse(demo, argv)
  check(demo)
  if type(argv) ~= "table" then
    error("demo: argv must be a table, not " .. type(argv), 2)
  end
  local function fail(...) usage_error(demo.name, ...) end
  local o = {}
  for k, v in pairs(demo.defaults) do o[k] = v end
  local i = 1
  local function value(name)
    i = i + 1
    if argv[i] == nil then fail("%s needs a value", name) end
    return argv[i]
  end
  local function integer(name, min)
    local n = math.tointeger(tonumber(value(name)))
    if not n or n < min then
      fail("%s needs an integer >= %d", name, min)
    end
    return n
  end
  local function number(name)
    local x = tonumber(value(name))
    if not x or x ~= x then fail("%s needs a number", name) end
    return x
  end
  while argv[i] do
    local a = argv[i]
    if a == "--help" or a == "-h" then return nil
    elseif a == "--samples" then o.samples = integer(a, 2)
    elseif a == "--iterations" then o.iterations = integer(a, 1)
    elseif a == "--learning-rate" then o.learning_rate = number(a)
    elseif a == "--momentum" then o.momentum = number(a)
    elseif a == "--method" then
      o.method = value(a)
      if o.method ~= "adam" and o.method ~= "gd" then
        fail("--method needs adam or gd")
      end
    elseif a == "--seed" then o.seed = integer(a, 0)
    elseif a == "--out" then o.out = value(a)
    elseif a == "--quiet" then o.quiet = true
    elseif a == "--distributed" then o.distributed = true
    elseif a == "--layers" then
      local layers = {}
      for n in value(a):gmatch("[^,]+") do
        layers[#layers + 1] = math.tointeger(tonumber(n))
      end
      if #layers < 2 or layers[1] ~= 1
         or layers[#layers] ~= demo.outputs then
        fail("--layers needs %s", demo.layers_rule)
      end
      o.layers = layers
    else
      fail("unknown option '%s'", a)
    end
    i = i + 1
  end
  if o.method == "gd" then
    o.momentum = o.momentum or 0.9
  elseif o.momentum then
    fail("--momentum applies to --method gd only")
  end
  return o
end


-- Train net on d, reporting progress and keeping the prediction on the
-- plotting grid at every 10% of training. Returns the losses (a list)
-- and the snapshots (lists of rows, in the original units).
local function train(name, net, d, grid, o)
  local bar = progress.new{total = o.iterations, label = name}
  local every = math.max(1, o.iterations // (bar.tty and 100 or 10))
  local snapshots = {}
  local run = o.distributed and require("gdnn.distributed").train
              or net.train
  local losses = run(net, d.X, d.Y, {
    iterations = o.iterations, method = o.method,
    learning_rate = o.learning_rate, momentum = o.momentum,
    progress_every = every,
    on_progress = function(iteration, loss)
      if not o.quiet then bar:update(iteration, loss) end
    end,
    snapshot_every = math.max(1, o.iterations // 10),
    on_snapshot = function(iteration, snap)
      if iteration < o.iterations then
        local y = d:unscale_y(snap:forward(grid.X))
        snapshots[#snapshots + 1] = y:totable()
      end
    end,
  })
  if not o.quiet then bar:finish() end
  return losses:totable(), snapshots
end


-- The root mean square of a - b over all elements (lists of rows).
local function rms(a, b)
  local sum, n = 0, 0
  for i, row in ipairs(a) do
    for j, v in ipairs(row) do
      sum, n = sum + (v - b[i][j]) ^ 2, n + 1
    end
  end
  return math.sqrt(sum / n)
end


-- At most n points (iteration, loss) of the loss history, evenly
-- picked, always with the first and the last.
local function thin(losses, n)
  local step = math.max(1, #losses // n)
  local its, ys = {}, {}
  for i = 1, #losses, step do
    its[#its + 1], ys[#ys + 1] = i, losses[i]
  end
  if its[#its] ~= #losses then
    its[#its + 1], ys[#ys + 1] = #losses, losses[#losses]
  end
  return its, ys
end


-- Draw the training loss, log scale, into o.out/NAME_loss.png; returns
-- the file name.
local function draw_loss(name, losses, o)
  local path = o.out .. "/" .. name .. "_loss.png"
  local its, ys = thin(losses, 2000)
  plot.render{output = path, size = {800, 400}, panels = {{
    title = name .. ": training loss", xlabel = "iteration",
    ylabel = "loss", logy = true, xrange = {0, o.iterations},
    series = {{x = its, y = ys, color = "blue", width = 1.5}}}}}
  return path
end


-- Run demo (see the module comment) with the command line argv: train,
-- report and draw. Returns {rms =, loss =, files =} (no files on the
-- ranks other than 0), or nil after printing the usage for --help.
function M.run(demo, argv)
  local name = demo.name
  local o = M.parse(demo, argv)
  if not o then print(demo.usage) return nil end
  local lead = true          -- the process that prints and draws
  if o.distributed then
    lead = require("gdnn.distributed").mpi().rank() == 0
    o.quiet = o.quiet or not lead
  end
  local quoted = "'" .. o.out:gsub("'", "'\\''") .. "'"
  if lead and not os.execute("mkdir -p " .. quoted) then
    error(name .. ": cannot make the folder " .. o.out, 0)
  end

  local d = demo.dataset{samples = o.samples, seed = o.seed}
  local grid = d:curve(1000)
  local net = gd.Network{layer_node_nums = o.layers,
                         activations = "sigmoid", seed = o.seed}
  local losses, snapshots = train(name, net, d, grid, o)

  local yhat = net:forward(grid.X)
  local err = rms(yhat:totable(), grid.Y:totable())
  local final = d:unscale_y(yhat):totable()
  if not lead then
    return {rms = err, loss = losses[#losses], files = {}}
  end
  local fit = demo.draw(d, grid, snapshots, final, o)
  local loss = draw_loss(name, losses, o)
  print(string.format("%s: final loss %.6e", name, losses[#losses]))
  print(string.format("%s: RMS error over 1000 points (rescaled " ..
                      "units) %.6f", name, err))
  print(name .. ": wrote " .. fit .. " and " .. loss)
  return {rms = err, loss = losses[#losses], files = {fit, loss}}
end


return M
