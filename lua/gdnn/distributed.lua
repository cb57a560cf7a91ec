-- gdnn.distributed: data-parallel training over MPI, built on gdnn.mpi.
--
-- Every rank runs the same script on the same data. train() runs
-- net:train on each rank's own share of the samples (columns) with a
-- reduce hook that weights the share's gradient and loss by its size
-- and adds those of all ranks with one allreduce, so that the core's
-- training loop makes the same update everywhere: the weights stay
-- identical on every rank and match full-batch training on one process.
--
-- A rank that fails alone (a hook, an option or a checkpoint write
-- that fails there only) tells the others through mpi.fail, so that
-- every rank raises an error naming it; a stop asked for on some ranks
-- only (Ctrl-C, gd._interrupt()) is agreed on at the end of each
-- iteration, so that every rank stops after the same one.
--
-- Limits: full-batch training only (no batch_size below the sample
-- count); the noise options draw from gdnn's own generator, which is the
-- same on every rank only when every rank seeded it alike; the hooks
-- (on_progress, on_snapshot, reduce) run on every rank with the global
-- loss; only rank 0 writes the checkpoint; a Ctrl-C landing between the
-- agreement and the core's own look at the flag stops one rank alone,
-- which is then an error on every rank rather than an agreed stop.

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


-- A whole number option of o at least 0, as net:train reads it.
local function count_option(o, name, default)
  local v = o[name]
  if v == nil then return default end
  if math.type(v) == nil or v < 0 or v ~= math.floor(v) then
    error("train: option " .. name .. " must be a whole number >= 0", 0)
  end
  return v
end


-- The snapshot hook of every iteration: the user's on_snapshot at its
-- own period, then the agreement on stopping: each rank takes back its
-- own pending stop request and, when any rank had one, every rank asks
-- for one, which the core honours at the end of this iteration.
local function stopper(mpi, o, state)
  local user, every = o.on_snapshot, count_option(o, "snapshot_every", 1)
  if user ~= nil and type(user) ~= "function" then
    error("train: option on_snapshot must be a function", 0)
  end
  return function(it, net)
    if user and every > 0 and it % every == 0 then user(it, net) end
    local mine = gd._interrupt_pending(true) and 1 or 0
    if mpi.allreduce(mine, "max") > 0 then
      state.stopped = it
      gd._interrupt()
    end
  end
end


-- train on one rank, with the hooks that keep the ranks in step; the
-- loss history, the reason, and the iteration of an agreed stop.
local function run(mpi, net, X, Y, o)
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
  local state = {}
  r.reduce = reducer(mpi, w, o.reduce)
  r.on_snapshot, r.snapshot_every = stopper(mpi, o, state), 1
  local losses, why = net:train(X:narrow(2, first, count),
                                Y:narrow(2, first, count), r)
  if why == "interrupted" and not state.stopped then
    error(string.format("train: rank %d alone was interrupted, after " ..
                        "iteration %d", rank, losses:size(1)), 0)
  end
  return losses, why
end


--
-- train(net, X, Y, options): net:train's full-batch training, data-
-- parallel over the ranks of MPI_COMM_WORLD. Takes net:train's options
-- (a reduce among them runs after the allreduce, on the sums) and
-- returns what it returns, the loss history and the reason the run
-- ended, the same on every rank. An error on one rank alone is passed
-- to the others (mpi.fail) and raised on every rank; a final barrier
-- catches one met by rank 0 writing the last checkpoint.
--
function M.train(net, X, Y, options)
  local mpi = M.mpi()
  local ok, losses, why = pcall(run, mpi, net, X, Y, options or {})
  if not ok then
    mpi.fail(losses)
    error(losses, 0)
  end
  mpi.barrier()
  return losses, why
end


return M
