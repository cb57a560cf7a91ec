-- mpi_bench.lua: the throughput of gdnn's two distributed workloads on
-- the processes it runs on, one line each, from rank 0:
--   restarts N SECONDS RESULT   64 restarts of a 2-d Rastrigin search
--                               (gradient_descent_from_function with
--                               distributed = true), RESULT a digest of
--                               the best point and the minima list;
--   train N SECONDS SAMPLES     data-parallel full-batch training of the
--                               {784,256,10} network on 1024 samples.
-- bench/mpi_bench.sh runs it with 1 and 2 processes and prints the table.
-- Run: mpirun -np 2 ./gdnn-lua bench/mpi_bench.lua [restarts|train]

local gd = require "gdnn"
local mpi = require "gdnn.mpi"
local distributed = require "gdnn.distributed"

local which = ... or "all"
local RESTARTS = tonumber(os.getenv("MPI_BENCH_RESTARTS")) or 64
local STEPS = tonumber(os.getenv("MPI_BENCH_STEPS")) or 10000
local SAMPLES = tonumber(os.getenv("MPI_BENCH_SAMPLES")) or 1024
local ITERATIONS = tonumber(os.getenv("MPI_BENCH_ITERATIONS")) or 30
local LAYERS = {784, 256, 10}


-- Rastrigin in 2-d, its gradient, written in Lua as a user would.
local A = 10
local function rastrigin(x)
  local a, b = x[1], x[2]
  return 2 * A + a * a - A * math.cos(2 * math.pi * a)
           + b * b - A * math.cos(2 * math.pi * b)
end

local function rastrigin_gradient(x)
  local a, b = x[1], x[2]
  return gd.tensor{2 * a + 2 * math.pi * A * math.sin(2 * math.pi * a),
                   2 * b + 2 * math.pi * A * math.sin(2 * math.pi * b)}
end


-- A digest of the search's result: every minimum's restart, value and
-- point, so that runs on different process counts can be compared.
local function digest(best)
  local h = 0
  local function add(s)
    for i = 1, #s do h = (h * 31 + s:byte(i)) % 4294967296 end
  end
  add(string.format("%.17g %.17g", best[1], best[2]))
  for _, m in ipairs(best.minima) do
    add(string.format("%d %.17g %.17g %.17g", m.restart, m.value, m.x[1],
                      m.x[2]))
  end
  return string.format("%08x", h)
end


-- Time fn() between two barriers, as seen by the slowest rank.
local function timed(fn)
  mpi.barrier()
  local t0 = mpi.wtime()
  local r = fn()
  mpi.barrier()
  return mpi.allreduce(mpi.wtime() - t0, "max"), r
end


local function bench_restarts()
  local seconds, best = timed(function()
    return gd.gradient_descent_from_function(rastrigin, rastrigin_gradient,
      {lower = {-5.12, -5.12}, upper = {5.12, 5.12}, restarts = RESTARTS,
       seed = 2026, learning_rate = 0.001, momentum = 0.5,
       max_iterations = STEPS, tolerance = 0, distributed = true})
  end)
  return string.format("restarts %d %.6f %s", RESTARTS, seconds,
                       digest(best))
end


local function bench_train()
  gd.seed(11)
  local X = gd.rand(LAYERS[1], SAMPLES)
  local Y = gd.rand(LAYERS[#LAYERS], SAMPLES)
  local net = gd.Network{layer_node_nums = LAYERS, activations = "sigmoid",
                         seed = 11}
  local o = {iterations = 1, learning_rate = 0.1}
  distributed.train(net, X, Y, o)                        -- warm up
  o.iterations = ITERATIONS
  local seconds = timed(function()
    return distributed.train(net, X, Y, o)
  end)
  return string.format("train %d %.6f %d", ITERATIONS, seconds, SAMPLES)
end


local lines = {}
if which == "all" or which == "restarts" then
  lines[#lines + 1] = bench_restarts()
end
if which == "all" or which == "train" then
  lines[#lines + 1] = bench_train()
end
if mpi.rank() == 0 then
  for _, l in ipairs(lines) do print(l) end
end
