-- sine.lua: a small sigmoid network learns sin(x) on [0, 2 pi].
--
-- Random samples of sin(x), rescaled to [0, 1], train a network with
-- layer_node_nums {1, 6, 1} by gradient descent (the adam update by
-- default, or plain steps with momentum). The script prints progress
-- while it trains and the RMS error of the final fit over 1000 evenly
-- spaced points (in the rescaled units), and draws two plots:
--   OUT/sine.png       the true curve (black), the samples (red), the
--                      prediction at every 10% of training (faint
--                      blue) and the final prediction (green);
--   OUT/sine_loss.png  the training loss per iteration, log scale.
--
-- Run from the source tree:  ./gdnn-lua scripts/sine.lua --help
-- Over MPI:  mpirun -np 2 ./gdnn-lua scripts/sine.lua --distributed
-- (each rank trains on its share of the samples with gdnn.distributed;
-- only rank 0 prints and draws).
-- The same seed gives the same numbers and the same pictures.

local function add_source_paths()
  local script = arg and arg[0] or ""
  local root = script:match("^(.*)/scripts/[^/]*$")
    or (script:match("^scripts/[^/]*$") and ".")
  if root and not package.path:find(root .. "/lua/", 1, true) then
    package.path = root .. "/lua/?.lua;" .. package.path
    package.cpath = root .. "/?.so;" .. package.cpath
  end
end
add_source_paths()

local gd = require "gdnn"
local datasets = require "gdnn.datasets"
local plot = require "gdnn.plot"
local progress = require "gdnn.progress"

local USAGE = [[
usage: gdnn-lua scripts/sine.lua [options]
  --samples N          training samples (default 40)
  --iterations N       gradient descent iterations (default 20000)
  --method M           adam (default) or gd, plain gradient descent
  --learning-rate X    step size (default 0.05; 0.5 suits gd)
  --momentum X         momentum of gd in [0, 1) (default 0.9)
  --layers A,B,C       layer_node_nums, first and last 1 (default 1,6,1)
  --seed N             seed of the samples and the weights (default 1)
  --out DIR            folder for the plots (default out)
  --quiet              no progress lines
  --distributed        share the samples among the ranks of mpirun
  --help               this text]]

local DEFAULTS = {
  samples = 40, iterations = 20000, method = "adam", learning_rate = 0.05,
  layers = {1, 6, 1}, seed = 1, out = "out", quiet = false,
}


-- Raise a command-line error.
local function usage_error(fmt, ...)
  error("sine: " .. string.format(fmt, ...) .. " (see --help)", 0)
end


-- Parse the command line into options (see USAGE); nil for --help.
local function parse(argv)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  local i = 1
  local function value(name)
    i = i + 1
    if argv[i] == nil then usage_error("%s needs a value", name) end
    return argv[i]
  end
  local function integer(name, min)
    local n = math.tointeger(tonumber(value(name)))
    if not n or n < min then
      usage_error("%s needs an integer >= %d", name, min)
    end
    return n
  end
  local function number(name)
    local x = tonumber(value(name))
    if not x or x ~= x then usage_error("%s needs a number", name) end
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
        usage_error("--method needs adam or gd")
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
      if #layers < 2 or layers[1] ~= 1 or layers[#layers] ~= 1 then
        usage_error("--layers needs sizes like 1,6,1 (first and last 1)")
      end
      o.layers = layers
    else
      usage_error("unknown option '%s'", a)
    end
    i = i + 1
  end
  if o.method == "gd" then
    o.momentum = o.momentum or 0.9
  elseif o.momentum then
    usage_error("--momentum applies to --method gd only")
  end
  return o
end


-- Train net on d, reporting progress and keeping the prediction on the
-- plotting grid at every 10% of training. Returns the losses (a list)
-- and the snapshots (lists of y values, in the original units).
local function train(net, d, grid, o)
  local bar = progress.new{total = o.iterations, label = "sine"}
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
        snapshots[#snapshots + 1] = y:totable()[1]
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


-- Draw the fit and the loss into o.out; returns the two file names.
local function draw(d, grid, snapshots, final, losses, o)
  local xs = grid.x:totable()[1]
  local series = {
    {x = xs, y = grid.y:totable()[1], color = "black", width = 2,
     title = "sin x"},
    {x = d.x:totable()[1], y = d.y:totable()[1], with = "points",
     color = "red", pointsize = 0.6, title = "training samples"},
  }
  for k, y in ipairs(snapshots) do
    series[#series + 1] = {x = xs, y = y, color = "blue", alpha = 0.25,
                           width = 1.5,
                           title = k == 1 and "every 10% of training" or nil}
  end
  series[#series + 1] = {x = xs, y = final, color = "green", width = 2.5,
                         title = "final prediction"}
  local fit = o.out .. "/sine.png"
  plot.render{output = fit, size = {800, 500}, panels = {{
    title = string.format("sine: layers %s, %d samples, %d iterations",
                          table.concat(o.layers, ","), o.samples,
                          o.iterations),
    xlabel = "x", ylabel = "y", legend = "bottom left", series = series,
    xrange = {0, 2 * math.pi}}}}

  local loss = o.out .. "/sine_loss.png"
  local its, ys = thin(losses, 2000)
  plot.render{output = loss, size = {800, 400}, panels = {{
    title = "sine: training loss", xlabel = "iteration", ylabel = "loss",
    logy = true, xrange = {0, o.iterations},
    series = {{x = its, y = ys, color = "blue",
                            width = 1.5}}}}}
  return fit, loss
end


-- The demo: returns a table with the RMS error and the files written,
-- or nil after printing the usage for --help.
local function main(argv)
  local o = parse(argv)
  if not o then print(USAGE) return nil end
  local lead = true          -- the process that prints and draws
  if o.distributed then
    lead = require("gdnn.distributed").mpi().rank() == 0
    o.quiet = o.quiet or not lead
  end
  local quoted = "'" .. o.out:gsub("'", "'\\''") .. "'"
  if lead and not os.execute("mkdir -p " .. quoted) then
    error("sine: cannot make the folder " .. o.out, 0)
  end

  local d = datasets.sine{samples = o.samples, seed = o.seed}
  local grid = d:curve(1000)
  local net = gd.Network{layer_node_nums = o.layers,
                         activations = "sigmoid", seed = o.seed}
  local losses, snapshots = train(net, d, grid, o)

  local yhat = net:forward(grid.X)
  local err = rms(yhat:totable(), grid.Y:totable())
  local final = d:unscale_y(yhat):totable()[1]
  if not lead then
    return {rms = err, loss = losses[#losses], files = {}}
  end
  local fit, loss = draw(d, grid, snapshots, final, losses, o)
  print(string.format("sine: final loss %.6e", losses[#losses]))
  print(string.format("sine: RMS error over 1000 points (rescaled " ..
                      "units) %.6f", err))
  print("sine: wrote " .. fit .. " and " .. loss)
  return {rms = err, loss = losses[#losses], files = {fit, loss}}
end


return main({...})
