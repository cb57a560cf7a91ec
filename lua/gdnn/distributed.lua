-- gdnn.distributed: data-parallel training over MPI, built on gdnn.mpi.
--
-- Every rank runs the same script on the same data. train() gives each
-- rank its own share of the samples (columns), weights each share's
-- gradient by its size, adds the gradients of all ranks with one
-- allreduce and makes the same update everywhere, so the weights stay
-- identical on every rank and match full-batch training on one process.
--
-- Limits: full-batch training only (no batch_size below the sample
-- count); the noise options draw from gdnn's own generator, which is the
-- same on every rank only when every rank seeded it alike; the hooks
-- (on_progress, on_snapshot) run on every rank with the global loss.

local gd = require "gdnn"

local M = {}

local mpi_module


-- The gdnn.mpi module, loaded on first use, or an error that says why
-- it cannot be.
function M.mpi()
  if mpi_module then return mpi_module end
  local ok, m = pcall(require, "gdnn.mpi")
  if not ok then
    error("gdnn.distributed: gdnn.mpi cannot be loaded (gdnn is built " ..
          "with MPI only where mpicc is installed): " .. tostring(m), 2)
  end
  mpi_module = m
  return m
end


-- The samples of rank r out of size ranks for m samples: the first
-- (1-based) and the count. The first m % size ranks take one more.
function M.share(m, rank, size)
  local base, extra = m // size, m % size
  local count = base + (rank < extra and 1 or 0)
  return rank * base + math.min(rank, extra) + 1, count
end


-- The options of one GradientDescent step that train passes on.
local STEP = {
  "learning_rate", "momentum", "nesterov", "method", "noise_interval",
  "noise_scale", "noise_eta", "noise_gamma", "clip_norm", "clip_value",
  "beta1", "beta2", "epsilon",
}

-- Every option train takes.
local TRAIN = {
  iterations = true, batch_size = true, seed = true, distributed = true,
  progress_every = true, on_progress = true, snapshot_every = true,
  on_snapshot = true,
}
for _, k in ipairs(STEP) do TRAIN[k] = true end


-- Check the options of train and return the step options.
local function step_options(o, m)
  for k in pairs(o) do
    if not TRAIN[k] then
      error("train: unknown option '" .. tostring(k) .. "'", 3)
    end
  end
  if o.batch_size and o.batch_size ~= 0 and o.batch_size < m then
    error(string.format("train: distributed training takes the full " ..
                        "batch, got batch_size %s for %d samples",
                        tostring(o.batch_size), m), 3)
  end
  local s = {}
  for _, k in ipairs(STEP) do s[k] = o[k] end
  return s
end


-- Whether iteration it is a multiple of the period every (0: never).
local function due(it, every)
  return every and every > 0 and it % every == 0
end


-- One GradientDescent per parameter, W then b of each layer, as the
-- core's training loop keeps them.
local function descents(net)
  local d = {}
  for l = 1, #net.weights do
    d[#d + 1] = {gd.GradientDescent(net.weights[l]), net.weights[l]}
    d[#d + 1] = {gd.GradientDescent(net.biases[l]), net.biases[l]}
  end
  return d
end


-- This rank's gradients on its share (X and Y narrowed to its columns;
-- nil when it has none), scaled by share / m, followed by the scaled
-- loss as a 1-element tensor: the list that one allreduce adds up.
local function local_gradients(net, X, Y, w)
  local list = {}
  if X then
    local dws, dbs, loss = net:backward(X, Y)
    for l = 1, #dws do
      list[#list + 1] = dws[l] * w
      list[#list + 1] = dbs[l] * w
    end
    list[#list + 1] = gd.tensor{loss * w}
  else
    for l = 1, #net.weights do
      list[#list + 1] = gd.zeros(net.weights[l]:shape())
      list[#list + 1] = gd.zeros(net.biases[l]:shape())
    end
    list[#list + 1] = gd.zeros(1)
  end
  return list
end


--
-- train(net, X, Y, options): net:train's full-batch training, data-
-- parallel over the ranks of MPI_COMM_WORLD. Takes net:train's options
-- (iterations, learning_rate, method, momentum, ..., on_progress,
-- on_snapshot) and returns the loss history as a 1-d tensor, the same
-- on every rank.
--
function M.train(net, X, Y, options)
  local mpi = M.mpi()
  local o = options or {}
  local m = X:size(2)
  local step = step_options(o, m)
  local first, count = M.share(m, mpi.rank(), mpi.size())
  local Xr, Yr
  if count > 0 then
    Xr, Yr = X:narrow(2, first, count), Y:narrow(2, first, count)
  end
  local w = count / m
  local params = descents(net)
  local iterations = o.iterations or 1000
  local losses = gd.zeros(math.max(iterations, 0))
  for it = 1, iterations do
    local list = local_gradients(net, Xr, Yr, w)
    mpi.allreduce(list, "sum")
    local loss = list[#list][1]
    if loss ~= loss or loss == math.huge or loss == -math.huge then
      error(string.format("train: the loss is not finite at " ..
                          "iteration %d", it), 2)
    end
    for k, p in ipairs(params) do
      p[1]:step(list[k], step)
      p[2]:copy(p[1])
    end
    losses[it] = loss
    if o.on_progress and due(it, o.progress_every or 1) then
      o.on_progress(it, loss)
    end
    if o.on_snapshot and due(it, o.snapshot_every or 1) then
      o.on_snapshot(it, net)
    end
  end
  return losses
end


return M
