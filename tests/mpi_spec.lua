-- Specs of gdnn.mpi and gdnn.distributed. They hold for any number of
-- processes: tools/run-mpi-specs runs them under mpirun with 2 and 3,
-- and the plain test run meets them as one process (MPI's singleton
-- mode). The cases of ranks that disagree exist only with 2 or more.
-- Run: mpirun -np 2 ./gdnn-lua /usr/bin/busted tests/mpi_spec.lua

local gd = require "gdnn"
local distributed = require "gdnn.distributed"

local have_mpi, mpi = pcall(require, "gdnn.mpi")

local helpers = require "tests.helpers"
local fails_with, flat = helpers.fails_with, helpers.flat

-- Run fn on every rank under pcall; the call must fail on every rank,
-- with an error containing own on rank r, and others (a string or a
-- list of them) elsewhere.
local function fails_apart(r, own, others, fn, ...)
  local ok, msg = pcall(fn, ...)
  assert.is_false(ok, "expected an error on every rank")
  local texts = mpi.rank() == r and {own} or others
  if type(texts) == "string" then texts = {texts} end
  for _, text in ipairs(texts) do
    assert(tostring(msg):find(text, 1, true),
           "expected an error containing: " .. text .. "\ngot: " ..
           tostring(msg))
  end
end

-- Every element of tensor t equal to v.
local function all_equal(t, v)
  for _, e in ipairs(flat(t)) do assert.are.equal(v, e) end
end


if not have_mpi then
  describe("gdnn.distributed without MPI", function()
    it("says that gdnn.mpi cannot be loaded", function()
      fails_with("gdnn.mpi cannot be loaded", distributed.mpi)
    end)

    it("refuses distributed searches and training", function()
      fails_with("option distributed needs gdnn.mpi",
                 gd.gradient_descent_from_function,
                 function(x) return x[1] ^ 2 end, nil,
                 {x0 = {1}, distributed = true})
      local net = gd.Network{layer_node_nums = {1, 2, 1}}
      fails_with("gdnn.mpi cannot be loaded", net.train, net,
                 gd.zeros(1, 3), gd.zeros(1, 3), {distributed = true})
    end)
  end)
  return
end

local rank, size = mpi.rank(), mpi.size()
local last = size - 1


describe("gdnn.mpi", function()
  it("numbers the ranks from 0 to size - 1", function()
    assert.is_true(rank >= 0 and rank < size)
    local all = mpi.allgather(gd.tensor{rank})
    assert.are.same({size, 1}, all:shape())
    for r = 0, last do assert.are.equal(r, all[r + 1][1]) end
  end)

  it("names the machine it runs on", function()
    assert.are.equal("string", type(mpi.processor_name()))
    assert.is_true(#mpi.processor_name() > 0)
  end)

  it("passes a barrier and keeps a clock", function()
    local t0 = mpi.wtime()
    mpi.barrier()
    assert.is_true(mpi.wtime() >= t0)
  end)

  it("sums a tensor over the ranks in place", function()
    local t = gd.full({2, 3}, rank + 1)
    assert.are.equal(t, mpi.allreduce(t))
    all_equal(t, size * (size + 1) / 2)
  end)

  it("takes the mean, max and min over the ranks", function()
    local cases = {{"mean", (size + 1) / 2}, {"max", size}, {"min", 1}}
    for _, c in ipairs(cases) do
      local t = gd.full({4}, rank + 1)
      mpi.allreduce(t, c[1])
      all_equal(t, c[2])
    end
  end)

  it("reduces a strided view into the tensor it views", function()
    local base = gd.zeros(3, 4)
    local view = base:transpose(1, 2)
    view[2][3] = rank + 1
    mpi.allreduce(view, "sum")
    assert.are.equal(size * (size + 1) / 2, base[3][2])
    assert.are.equal(0, base[1][1])
  end)

  it("reduces a list of tensors in one call", function()
    local a, b = gd.full({2}, rank), gd.full({3, 1}, 2 * rank)
    mpi.allreduce({a, b}, "max")
    all_equal(a, last)
    all_equal(b, 2 * last)
  end)

  it("reduces plain numbers", function()
    assert.are.equal(size, mpi.allreduce(1))
    assert.are.equal(last, mpi.allreduce(rank, "max"))
    assert.near((size - 1) / 2, mpi.allreduce(rank, "mean"), 1e-15)
  end)

  it("gives every rank the very same bits of a sum", function()
    local t = gd.tensor{0.1 * (rank + 1), 1 / 3 + rank, 1e-17 * rank}
    mpi.allreduce(t)
    local all = mpi.allgather(t)
    for r = 2, size do
      for k = 1, 3 do assert.are.equal(all[1][k], all[r][k]) end
    end
  end)

  it("broadcasts from rank 0 and from the last rank", function()
    for _, root in ipairs{0, last} do
      local t = gd.full({2, 2}, rank + 10)
      mpi.broadcast(t, root)
      all_equal(t, root + 10)
    end
  end)

  it("broadcasts into a strided view and into a list", function()
    local base = gd.zeros(2, 3)
    local view = base:transpose(1, 2)
    local extra = gd.zeros(2)
    if rank == 0 then
      base:copy{{1, 2, 3}, {4, 5, 6}}
      extra:fill(9)
    end
    mpi.broadcast({view, extra})
    assert.are.same({1, 2, 3, 4, 5, 6}, flat(base))
    all_equal(extra, 9)
  end)

  it("gathers on the root only", function()
    local got = mpi.gather(gd.full({2}, rank), last)
    if rank == last then
      assert.are.same({size, 2}, got:shape())
      for r = 0, last do assert.are.same({r, r}, flat(got[r + 1])) end
    else
      assert.is_nil(got)
    end
  end)

  it("allgathers a 0-d tensor as a vector", function()
    local got = mpi.allgather(gd.tensor(rank * 2))
    assert.are.same({size}, got:shape())
    for r = 0, last do assert.are.equal(2 * r, got[r + 1]) end
  end)

  it("rejects bad arguments", function()
    local t, closed = gd.zeros(2), gd.zeros(2)
    getmetatable(closed).__close(closed)
    local cases = {
      {"tensor has been closed", mpi.allreduce, closed},
      {"element 1 has been closed", mpi.broadcast, {closed}},
      {"tensor has been closed", mpi.allgather, closed},
      {"invalid option 'avg'", mpi.allreduce, t, "avg"},
      {"tensor expected, got string", mpi.allreduce, "x"},
      {"element 2 is a number, not a tensor", mpi.allreduce, {t, 3}},
      {"a list of 1 to 16 tensors expected, got 0", mpi.allreduce, {}},
      {"read-only broadcast view", mpi.allreduce, gd.zeros(1):expand(3)},
      {"read-only broadcast view", mpi.broadcast, gd.zeros(1):expand(3)},
      {"tensor expected, got nil", mpi.gather},
      {"tensor expected, got table", mpi.allgather, {t}},
    }
    for _, c in ipairs(cases) do fails_with(c[1], c[2], c[3], c[4]) end
  end)

  it("rejects a root that is not a rank, on every rank", function()
    fails_with("root " .. size .. " is not a rank of 0 to " .. last,
               mpi.broadcast, gd.zeros(1), size)
    fails_with("root -1 is not a rank", mpi.gather, gd.zeros(1), -1)
  end)

  if size > 1 then
    it("fails on every rank when the shapes differ", function()
      local t = rank == 1 and gd.zeros(2, 4) or gd.zeros(2, 3)
      fails_with("allreduce: tensor 1 has shape 2x3 on rank 0 but 2x4 " ..
                 "on rank 1", mpi.allreduce, t)
      fails_with("broadcast: tensor 1 has shape 2x3 on rank 0 but 2x4 " ..
                 "on rank 1", mpi.broadcast, t)
      fails_with("allgather: tensor 1 has shape 2x3 on rank 0 but 2x4",
                 mpi.allgather, t)
    end)

    it("names the tensor of a list whose shape differs", function()
      local b = rank == 1 and gd.zeros(5) or gd.zeros(4)
      fails_with("allreduce: tensor 2 has shape 4 on rank 0 but 5 on " ..
                 "rank 1", mpi.allreduce, {gd.zeros(1), b})
    end)

    it("fails on every rank when the calls differ", function()
      local t = gd.zeros(2)
      fails_with("rank 0 asked for sum but rank 1 for max",
                 mpi.allreduce, t, rank == 1 and "max" or "sum")
      fails_with("rank 0 named root 0 but rank 1 root 1",
                 mpi.broadcast, t, rank == 1 and 1 or 0)
      fails_with("rank 0 passed 1 tensors but rank 1 passed 2",
                 mpi.allreduce, rank == 1 and {t, t} or t)
      fails_with("rank 0 passed 1 tensors but rank 1 passed 0",
                 mpi.allreduce, rank == 1 and 1 or t)
      fails_with("rank 0 called allreduce but rank 1 called barrier",
                 rank == 1 and mpi.barrier or mpi.allreduce, t)
    end)

    it("raises a failure of one rank in the others' collective",
       function()
      local t = gd.ones(2)
      if rank == 1 then
        assert.is_true(mpi.fail("broken on rank 1"))
      else
        fails_with("allreduce: rank 1 failed: broken on rank 1",
                   mpi.allreduce, t)
      end
      if rank == last then
        assert.is_true(mpi.fail({}))    -- any value, as tostring shows it
      else
        fails_with("barrier: rank " .. last .. " failed: table: ",
                   mpi.barrier)
      end
    end)

    it("names the first of several ranks that failed", function()
      if rank == 0 then
        fails_with("broadcast: rank 1 failed: one", mpi.broadcast,
                   gd.zeros(1))
      else
        mpi.fail(rank == 1 and "one" or "two")
      end
    end)

    it("turns a bad argument on one rank into an error on all",
       function()
      local bad = "bad argument #1 to 'allreduce' (tensor expected, " ..
                  "got string)"
      fails_apart(1, bad, "allreduce: rank 1 failed: " .. bad,
                  mpi.allreduce, rank == 1 and "x" or gd.zeros(2))
      bad = "bad argument #2 to 'allreduce' (invalid option 'avg')"
      fails_apart(last, bad, "allreduce: rank " .. last .. " failed: " ..
                  bad, mpi.allreduce, gd.zeros(2),
                  rank == last and "avg" or "sum")
      bad = "bad argument #2 to 'gather' (integer expected, got table)"
      fails_apart(1, bad, "gather: rank 1 failed: " .. bad, mpi.gather,
                  gd.zeros(2), rank == 1 and {} or 0)
      bad = "bad argument #1 to 'broadcast' (element 2 has been closed)"
      local closed = gd.zeros(1)
      getmetatable(closed).__close(closed)
      fails_apart(1, bad, "broadcast: rank 1 failed: " .. bad,
                  mpi.broadcast, {gd.zeros(1), rank == 1 and closed or
                                  gd.zeros(1)})
    end)

    it("fails on every rank when one cannot allocate a result",
       function()
      local t = gd.ones(3)
      if rank == 1 then gd._fail_allocations(0) end
      local ok, msg = pcall(mpi.allgather, t)
      if rank == 1 then gd._fail_allocations() end
      assert.is_false(ok)
      if rank ~= 1 then
        assert.is_truthy(tostring(msg):find("allgather: rank 1 failed: " ..
                                            "allgather: ", 1, true))
      end
    end)

    it("passes on in silence an error that every rank raised",
       function()
      local ok, msg = pcall(mpi.allreduce, gd.zeros(rank == 1 and 3 or 2))
      assert.is_false(ok)
      assert.is_false(mpi.fail(msg))
      local t = mpi.allreduce(gd.ones(1))
      all_equal(t, size)
    end)

    it("still works after a mismatch", function()
      local t = gd.ones(3)
      mpi.allreduce(t)
      all_equal(t, size)
    end)
  end
end)


-- A small network and data set, the same on every rank.
local function problem(m, seed)
  gd.seed(seed)
  local X, Y = gd.randn(3, m), gd.rand(2, m)
  local function net()
    return gd.Network{layer_node_nums = {3, 5, 2},
                      activations = "sigmoid", seed = seed}
  end
  return X, Y, net
end

-- The largest relative difference between the weights of two networks.
local function weight_gap(a, b)
  local worst = 0
  for l = 1, #a.weights do
    for _, p in ipairs{"weights", "biases"} do
      local x, y = a[p][l], b[p][l]
      local scale = math.max(x:abs():max(), 1e-300)
      worst = math.max(worst, (x - y):abs():max() / scale)
    end
  end
  return worst
end


describe("gdnn.distributed", function()
  it("splits m samples into one contiguous share per rank", function()
    for _, m in ipairs{1, 2, 7, 1024} do
      for n = 1, 5 do
        local next_first, total = 1, 0
        for r = 0, n - 1 do
          local first, count = distributed.share(m, r, n)
          assert.are.equal(next_first, first)
          assert.is_true(count == m // n or count == m // n + 1)
          next_first, total = first + count, total + count
        end
        assert.are.equal(m, total)
      end
    end
  end)

  it("matches full-batch training on one process to 1e-12", function()
    local cases = {
      {iterations = 100, learning_rate = 0.5, method = "gd",
       momentum = 0.9},
      {iterations = 100, learning_rate = 0.05, method = "adam"},
    }
    for _, o in ipairs(cases) do
      local X, Y, net = problem(37, 5)
      local one, many = net(), net()
      local l1 = one:train(X, Y, o)
      local ln = distributed.train(many, X, Y, o)
      assert.is_true(weight_gap(one, many) <= 1e-12)
      assert.near(l1[100], ln[100], 1e-12 * l1[100])
    end
  end)

  it("leaves the very same weights on every rank", function()
    local X, Y, net = problem(20, 6)
    local n = net()
    distributed.train(n, X, Y, {iterations = 20, learning_rate = 0.3})
    for l = 1, #n.weights do
      local all = mpi.allgather(n.weights[l])
      for r = 2, size do
        assert.is_true(all[r] == all[1])
      end
    end
  end)

  it("trains with fewer samples than ranks", function()
    local X, Y, net = problem(2, 7)
    local one, many = net(), net()
    local o = {iterations = 10, learning_rate = 0.5}
    one:train(X, Y, o)
    distributed.train(many, X, Y, o)
    assert.is_true(weight_gap(one, many) <= 1e-12)
  end)

  it("calls the hooks with the loss of all samples", function()
    local X, Y, net = problem(9, 8)
    local seen, snaps = {}, 0
    local losses = distributed.train(net(), X, Y, {
      iterations = 4, progress_every = 2, snapshot_every = 4,
      on_progress = function(it, loss) seen[#seen + 1] = {it, loss} end,
      on_snapshot = function() snaps = snaps + 1 end,
    })
    assert.are.equal(2, #seen)
    assert.are.equal(4, seen[2][1])
    assert.are.equal(losses[4], seen[2][2])
    assert.are.equal(1, snaps)
  end)

  it("returns the reason the run ended, as net:train does", function()
    local X, Y, net = problem(6, 14)
    local losses, why = distributed.train(net(), X, Y, {iterations = 3})
    assert.are.equal(3, losses:size(1))
    assert.are.equal("max_iterations", why)
  end)

  it("runs a reduce of its own on the sums of all ranks", function()
    local X, Y, net = problem(11, 15)
    local one, many = net(), net()
    local seen = {}
    local function double(dws, dbs)
      for l = 1, #dws do
        dws[l]:mul(2, dws[l])
        dbs[l]:mul(2, dbs[l])
      end
    end
    local l1 = one:train(X, Y, {iterations = 20, reduce = double})
    local ln = distributed.train(many, X, Y, {iterations = 20,
      reduce = function(dws, dbs, loss, it)
        double(dws, dbs)
        seen[it] = loss
        return loss
      end})
    assert.is_true(weight_gap(one, many) <= 1e-12)
    assert.near(l1[20], seen[20], 1e-12 * l1[20])
    assert.are.equal(ln[20], seen[20])
  end)

  it("writes a checkpoint on rank 0 that every rank resumes from",
     function()
    -- One path for all ranks, from a number rank 0 draws.
    local n = mpi.allreduce(rank == 0 and os.time() % 100000 or 0)
    local path = string.format("%s/gdnn-mpi-spec-%d.ckpt",
                               os.getenv("TMPDIR") or "/tmp", n)
    local X, Y, net = problem(13, 16)
    local whole, part, again = net(), net(), net()
    local o = {iterations = 20, learning_rate = 0.5, method = "adam"}
    local lw = distributed.train(whole, X, Y, o)
    distributed.train(part, X, Y, {iterations = 8, learning_rate = 0.5,
                                   method = "adam", checkpoint = path})
    mpi.barrier()
    o.resume = path
    local la = distributed.train(again, X, Y, o)
    mpi.barrier()
    if rank == 0 then os.remove(path) end
    assert.are.equal(0, weight_gap(whole, again))
    assert.are.equal(lw[20], la[20])
    assert.are.equal(lw[3], la[3])
  end)

  it("refuses a checkpoint to resume from that a rank cannot read",
     function()
    local X, Y, net = problem(5, 17)
    local path = rank == 0 and "/nonexistent/gdnn.ckpt" or os.tmpname()
    fails_with("train: the checkpoint '" .. path .. "' to resume from " ..
               "cannot be read on every rank",
               distributed.train, net(), X, Y, {resume = path})
    if rank ~= 0 then os.remove(path) end
  end)

  if size > 1 then
    it("fails on every rank when a hook fails on one", function()
      local X, Y, net = problem(9, 18)
      local other = "rank 1 failed: hook fails on rank 1"
      for _, hook in ipairs{"on_progress", "on_snapshot", "reduce"} do
        local function boom(...)
          local it = select(hook == "reduce" and 4 or 1, ...)
          if rank == 1 and it == 3 then error("hook fails on rank 1", 0) end
        end
        fails_apart(1, "hook fails on rank 1", other, distributed.train,
                    net(), X, Y, {iterations = 6, [hook] = boom})
      end
    end)

    it("fails on every rank when one gets a bad argument", function()
      local X, Y, net = problem(9, 19)
      fails_apart(last, "train: option iterations must be",
                  {"rank " .. last .. " failed: ",
                   "train: option iterations must be"},
                  distributed.train, net(), X, Y,
                  {iterations = rank == last and -1 or 5})
      fails_apart(1, "tensor", "rank 1 failed: ", distributed.train, net(),
                  rank == 1 and "X" or X, Y, {iterations = 5})
    end)

    it("fails on every rank when rank 0 cannot write the checkpoint",
       function()
      local X, Y, net = problem(9, 20)
      local path = "/nonexistent/gdnn-mpi-spec.ckpt"
      for _, every in ipairs{2, 0} do     -- in the run, then at its end
        fails_apart(0, path, "rank 0 failed: ", distributed.train, net(),
                    X, Y, {iterations = 5, checkpoint = path,
                           checkpoint_every = every})
      end
    end)
  end

  it("stops every rank after the same iteration when one is interrupted",
     function()
    local X, Y, net = problem(10, 21)
    for _, who in ipairs{0, last} do
      local n = net()
      local losses, why = distributed.train(n, X, Y, {
        iterations = 50, learning_rate = 0.3,
        on_progress = function(it)
          if rank == who and it == 4 then gd._interrupt() end
        end})
      assert.are.equal("interrupted", why)
      assert.are.equal(4, losses:size(1))
      for l = 1, #n.weights do
        local all = mpi.allgather(n.weights[l])
        for r = 2, size do assert.is_true(all[r] == all[1]) end
      end
    end
  end)

  it("stops at the first iteration that any rank asked to stop at",
     function()
    local X, Y, net = problem(10, 22)
    if rank == last then gd._interrupt() end    -- pending before the run
    local losses, why = distributed.train(net(), X, Y, {iterations = 9})
    assert.are.equal("interrupted", why)
    assert.are.equal(1, losses:size(1))
    losses, why = distributed.train(net(), X, Y, {
      iterations = 9,
      on_snapshot = function(it) if it == 6 - rank then gd._interrupt() end
      end, snapshot_every = 1})
    assert.are.equal("interrupted", why)
    assert.are.equal(6 - last, losses:size(1))
    assert.is_false(gd._interrupt_pending())
  end)

  it("rejects mini-batches and unknown options", function()
    local X, Y, net = problem(8, 9)
    fails_with("distributed training takes the full batch, got " ..
               "batch_size 4 for 8 samples", distributed.train, net(), X,
               Y, {batch_size = 4})
    fails_with("train: unknown option 'iteration'", distributed.train,
               net(), X, Y, {iteration = 3})
  end)
end)


-- Rastrigin in 2-d and its gradient: many minima, one global at 0.
local function rastrigin(x)
  local v = 20
  for i = 1, 2 do
    v = v + x[i] ^ 2 - 10 * math.cos(2 * math.pi * x[i])
  end
  return v
end

local function rastrigin_gradient(x)
  local g = {}
  for i = 1, 2 do
    g[i] = 2 * x[i] + 20 * math.pi * math.sin(2 * math.pi * x[i])
  end
  return gd.tensor(g)
end

-- A search of n restarts, shared among the ranks when shared is true.
local function search(n, shared, extra)
  local o = {lower = {-5.12, -5.12}, upper = {5.12, 5.12}, restarts = n,
             seed = 77, learning_rate = 0.002,
             max_iterations = 400, distributed = shared}
  for k, v in pairs(extra or {}) do o[k] = v end
  return gd.gradient_descent_from_function(rastrigin, rastrigin_gradient,
                                           o)
end

-- Everything a search returns, as one string to compare exactly.
local function describe_result(best, value)
  local parts = {string.format("%.17g %d", value, best.steps)}
  for _, f in ipairs{"gradient_current", "gradient_previous",
                     "gradient_step"} do
    for _, v in ipairs(flat(best[f])) do
      parts[#parts + 1] = string.format("%.17g", v)
    end
  end
  for _, v in ipairs(flat(best)) do
    parts[#parts + 1] = string.format("%.17g", v)
  end
  for _, m in ipairs(best.minima) do
    parts[#parts + 1] = string.format("%d %.17g %d %s %.17g %.17g",
      m.restart, m.value, m.iterations, m.reason, m.x[1], m.x[2])
  end
  return table.concat(parts, "\n")
end


describe("gradient_descent_from_function with distributed = true", function()
  it("gives what one process running every restart gives", function()
    for _, n in ipairs{1, 2, 7, 12} do
      local alone = describe_result(search(n, false, {momentum = 0.5}))
      local shared = describe_result(search(n, true, {momentum = 0.5}))
      assert.are.equal(alone, shared)
    end
  end)

  it("lists every restart once, best first, on every rank", function()
    local best, value = search(9, true)
    assert.are.equal(9, #best.minima)
    local seen = {}
    for i, m in ipairs(best.minima) do
      seen[m.restart] = true
      if i > 1 then assert.is_true(best.minima[i - 1].value <= m.value) end
    end
    for k = 1, 9 do assert.is_true(seen[k]) end
    assert.are.equal(value, best.minima[1].value)
    local v = gd.tensor{value}
    mpi.allreduce(v, "max")
    assert.are.equal(value, v[1])
  end)

  it("keeps adam's state and steps of the best descent", function()
    local a = search(5, false, {method = "adam", learning_rate = 0.05})
    local b = search(5, true, {method = "adam", learning_rate = 0.05})
    assert.is_true(a.adam_m == b.adam_m and a.adam_v == b.adam_v)
    a:step({1, 1}, {method = "adam"})
    b:step({1, 1}, {method = "adam"})
    assert.is_true(gd.tensor(a) == gd.tensor(b))
  end)

  if size == 1 then
    it("names itself in an argument error", function()
      fails_with("bad argument #1 to 'gdnn.gradient_descent_from_function'" ..
                 " (function expected, got number)",
                 gd.gradient_descent_from_function, 5, nil,
                 {x0 = {1}, distributed = true})
      fails_with("bad argument #3 to 'gdnn.gradient_descent_from_function'" ..
                 " (unknown option 'restart'",
                 gd.gradient_descent_from_function, rastrigin, nil,
                 {x0 = {1, 1}, distributed = true, restart = 2})
    end)
  end

  if size > 1 then
    it("fails on every rank when one has a bad option", function()
      local o = {lower = {-1, -1}, upper = {1, 1}, restarts = 2 * size,
                 seed = 3, distributed = true,
                 max_iterations = rank == 1 and "many" or 5}
      fails_apart(1, "bad argument #3 to " ..
                  "'gdnn.gradient_descent_from_function' (option " ..
                  "max_iterations", "allgather: rank 1 failed: ",
                  gd.gradient_descent_from_function, rastrigin,
                  rastrigin_gradient, o)
    end)

    it("fails on every rank when one runs out of memory in its " ..
       "last restart", function()
      local o = {lower = {-1, -1}, upper = {1, 1}, restarts = 2 * size,
                 seed = 3, max_iterations = 5, distributed = true}
      local calls = 0
      o.callback = function()
        calls = calls + 1
        if rank == 1 and calls == 6 then gd._fail_allocations(0) end
      end
      local ok, msg = pcall(gd.gradient_descent_from_function, rastrigin,
                            rastrigin_gradient, o)
      gd._fail_allocations()
      assert.is_false(ok)
      if rank ~= 1 then
        assert.is_truthy(tostring(msg):find("allgather: rank 1 failed: ",
                                            1, true))
      end
    end)

    it("fails on every rank when f fails on one", function()
      local function f(x)
        if rank == 1 then error("f fails on rank 1") end
        return rastrigin(x)
      end
      local ok, msg = pcall(gd.gradient_descent_from_function, f,
                            rastrigin_gradient,
                            {lower = {-1, -1}, upper = {1, 1},
                             restarts = 4, seed = 1, distributed = true})
      assert.is_false(ok)
      if rank == 1 then
        assert.is_truthy(tostring(msg):find("f fails on rank 1", 1, true))
      else
        assert.is_truthy(tostring(msg):find("the search failed in " ..
                                            "process 1", 1, true))
      end
    end)
  end
end)


describe("net:train with distributed = true", function()
  it("matches full-batch training on one process to 1e-12", function()
    local X, Y, net = problem(41, 12)
    local one, many = net(), net()
    local o = {iterations = 100, learning_rate = 0.5, momentum = 0.5}
    local l1 = one:train(X, Y, o)
    o.distributed = true
    local ln = many:train(X, Y, o)
    assert.is_true(weight_gap(one, many) <= 1e-12)
    assert.near(l1[100], ln[100], 1e-12 * l1[100])
  end)

  it("trains as before when distributed is false", function()
    local X, Y, net = problem(10, 13)
    local a, b = net(), net()
    a:train(X, Y, {iterations = 5})
    b:train(X, Y, {iterations = 5, distributed = false})
    assert.are.equal(0, weight_gap(a, b))
  end)
end)
