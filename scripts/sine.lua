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

local datasets = require "gdnn.datasets"
local demo = require "gdnn.demo"
local plot = require "gdnn.plot"

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


-- Draw the true curve, the samples, the snapshots and the final fit
-- (lists of rows, one row here) into o.out; returns the file name.
local function draw(d, grid, snapshots, final, o)
  local xs = grid.x:totable()[1]
  local series = {
    {x = xs, y = grid.y:totable()[1], color = "black", width = 2,
     title = "sin x"},
    {x = d.x:totable()[1], y = d.y:totable()[1], with = "points",
     color = "red", pointsize = 0.6, title = "training samples"},
  }
  for k, y in ipairs(snapshots) do
    series[#series + 1] = {x = xs, y = y[1], color = "blue", alpha = 0.25,
                           width = 1.5,
                           title = k == 1 and "every 10% of training" or nil}
  end
  series[#series + 1] = {x = xs, y = final[1], color = "green",
                         width = 2.5, title = "final prediction"}
  local fit = o.out .. "/sine.png"
  plot.render{output = fit, size = {800, 500}, panels = {{
    title = string.format("sine: layers %s, %d samples, %d iterations",
                          table.concat(o.layers, ","), o.samples,
                          o.iterations),
    xlabel = "x", ylabel = "y", legend = "bottom left", series = series,
    xrange = {0, 2 * math.pi}}}}
  return fit
end


return demo.run({
  name = "sine", usage = USAGE, defaults = DEFAULTS, outputs = 1,
  layers_rule = "sizes like 1,6,1 (first and last 1)",
  dataset = datasets.sine, draw = draw,
}, {...})
