-- helix.lua: a small sigmoid network learns the spiral
-- f(t) = [t cos t, t sin t] for t in [0, 4 pi], two turns of a helix
-- seen from above.
--
-- Random samples of t, with both targets rescaled to [0, 1], train a
-- network with layer_node_nums {1, 10, 2} by gradient descent (the
-- adam update by default, or plain steps with momentum). The script
-- prints progress while it trains and the RMS error of the final fit
-- over 1000 evenly spaced values of t (in the rescaled units), and
-- draws two plots:
--   OUT/helix.png       the XY projection of the true curve (black),
--                       the samples (red), the prediction at every 10%
--                       of training (faint blue) and the final
--                       prediction (green, dashed);
--   OUT/helix_loss.png  the training loss per iteration, log scale.
--
-- Run from the source tree:  ./gdnn-lua scripts/helix.lua --help
-- Over MPI:  mpirun -np 2 ./gdnn-lua scripts/helix.lua --distributed
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
usage: gdnn-lua scripts/helix.lua [options]
  --samples N          training samples (default 60)
  --iterations N       gradient descent iterations (default 150000)
  --method M           adam (default) or gd, plain gradient descent
  --learning-rate X    step size (default 0.05; 0.5 suits gd)
  --momentum X         momentum of gd in [0, 1) (default 0.9)
  --layers A,B,C       layer_node_nums, first 1 and last 2
                       (default 1,10,2)
  --seed N             seed of the samples and the weights (default 1)
  --out DIR            folder for the plots (default out)
  --quiet              no progress lines
  --distributed        share the samples among the ranks of mpirun
  --help               this text]]

local DEFAULTS = {
  samples = 60, iterations = 150000, method = "adam",
  learning_rate = 0.05,
  layers = {1, 10, 2}, seed = 1, out = "out", quiet = false,
}


-- Draw the XY projections of the true curve, the samples, the snapshots
-- and the final fit (lists of two rows, x and y) into o.out; returns the
-- file name.
local function draw(d, grid, snapshots, final, o)
  local truth, samples = grid.y:totable(), d.y:totable()
  local series = {
    {x = truth[1], y = truth[2], color = "black", width = 2,
     title = "f(t) = [t cos t, t sin t]"},
    {x = samples[1], y = samples[2], with = "points", color = "red",
     pointsize = 0.6, title = "training samples"},
  }
  for k, xy in ipairs(snapshots) do
    series[#series + 1] = {x = xy[1], y = xy[2], color = "blue",
                           alpha = 0.25, width = 1.5,
                           title = k == 1 and "every 10% of training" or nil}
  end
  series[#series + 1] = {x = final[1], y = final[2], color = "green",
                         width = 2.5, dash = "dash",
                         title = "final prediction"}
  local fit = o.out .. "/helix.png"
  plot.render{output = fit, size = {960, 640}, panels = {{
    title = string.format("helix: layers %s, %d samples, %d iterations",
                          table.concat(o.layers, ","), o.samples,
                          o.iterations),
    xlabel = "t cos t", ylabel = "t sin t",
    legend = "outside right top vertical",
    aspect = 1, series = series}}}
  return fit
end


return demo.run({
  name = "helix", usage = USAGE, defaults = DEFAULTS, outputs = 2,
  layers_rule = "sizes like 1,10,2 (first 1, last 2)",
  dataset = datasets.helix, draw = draw,
}, {...})
