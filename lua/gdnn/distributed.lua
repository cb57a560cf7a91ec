-- gdnn.distributed: data-parallel training over MPI, built on gdnn.mpi.
--
-- Every rank runs the same script on the same data. train() runs
-- net:train on each rank's own share of the samples (columns) with a
-- reduce hook that weights the share's gradient and loss by its size
-- and adds those of all ranks with one allreduce, so that the core's
-- training loop makes the same update everywhere: the weights stay
-- identical on every rank and match full-batch training on one process.
--
-- Limits: full-batch training only (no batch_size below the sample
-- count); the noise options draw from gdnn's own generator, which is the
-- same on every rank only when every rank seeded it alike; the hooks
-- (on_progress, on_snapshot, reduce) run on every rank with the global
-- loss; only rank 0 writes the checkpoint, and a write that fails before
-- the last iteration stops rank 0 alone and leaves the others waiting;
-- gd._interrupt() stops a run only when called on every rank.

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


-- Every option train takes: net:train's, less none.
local TRAIN = {}
for k in ([[iterations batch_size seed distributed learning_rate momentum
    nesterov method noise_interval noise_scale noise_eta noise_gamma
    clip_norm clip_value beta1 beta2 epsilon progress_every on_progress
    snapshot_every on_snapshot checkpoint checkpoint_every resume
    reduce]]):gmatch("%S+") do
  TRAIN[k] = true
end


-- Check the options of train and return those of net:train on one
-- rank: the same, less distributed and batch_size, with the
-- checkpoint written by rank 0 alone.
local function local_options(o, m, rank)
  local r = {}
  for k, v in pairs(o) do
    if not TRAIN[k] then
      error("train: unknown option '" .. tostring(k) .. "'", 3)
    end
    r[k] = v
  end
  if o.batch_size and o.batch_size ~= 0 and o.batch_size < m then
    error(string.format("train: distributed training takes the full " ..
                        "batch, got batch_size %s for %d samples",
                        tostring(o.batch_size), m), 3)
  end
  r.distributed, r.batch_size = nil, nil
  if rank ~= 0 then r.checkpoint = nil end
  return r
end


-- Raise the same error on every rank unless every rank can read the
-- checkpoint at path, so that no rank starts training alone.
local function check_resume(mpi, path)
  local f = type(path) == "string" and io.open(path, "rb")
  if f then f:close() end
  if mpi.allreduce(f and 1 or 0, "min") == 0 then
    error(string.format("train: the checkpoint '%s' to resume from " ..
                        "cannot be read on every rank", tostring(path)),
          3)
  end
end


-- The reduce hook of a rank whose share weighs w (0: it has no
-- samples, and trains on one column whose gradient counts for nothing):
-- scale the local gradients and loss by w and sum them over the ranks
-- in one allreduce, then call the user's reduce, if any, on the sums.
local function reducer(mpi, w, user)
  local loss_t, list = gd.zeros(1), {}
  return function(dws, dbs, loss, it)
    local n = #dws
    for l = 1, n do
      list[2 * l - 1], list[2 * l] = dws[l], dbs[l]
    end
    list[2 * n + 1] = loss_t
    for k = 1, 2 * n do
      if w > 0 then list[k]:mul(w, list[k]) else list[k]:fill(0) end
    end
    loss_t[1] = w > 0 and loss * w or 0
    mpi.allreduce(list, "sum")
    loss = loss_t[1]
    if user then
      local r = user(dws, dbs, loss, it)
      if r ~= nil then loss = r end
    end
    return loss
  end
end


--
-- train(net, X, Y, options): net:train's full-batch training, data-
-- parallel over the ranks of MPI_COMM_WORLD. Takes net:train's options
-- (a reduce among them runs after the allreduce, on the sums) and
-- returns what it returns, the loss history and the reason the run
-- ended, the same on every rank.
--
function M.train(net, X, Y, options)
  local mpi = M.mpi()
  local o = options or {}
  if not gd.istensor(X) then X = gd.tensor(X) end
  if not gd.istensor(Y) then Y = gd.tensor(Y) end
  local m = X:size(2)
  local rank = mpi.rank()
  local r = local_options(o, m, rank)
  if o.resume ~= nil then check_resume(mpi, o.resume) end
  local first, count = M.share(m, rank, mpi.size())
  if m == 0 then return net:train(X, Y, r) end
  local w = count / m
  if count == 0 then first, count = 1, 1 end
  r.reduce = reducer(mpi, w, o.reduce)
  return net:train(X:narrow(2, first, count), Y:narrow(2, first, count),
                   r)
end


return M
