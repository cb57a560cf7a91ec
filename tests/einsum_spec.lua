-- Specs for gd.einsum, gd.einsum_into and gd.einsum_path: results against
-- NumPy's (tests/data/einsum_ref.lua) and against a plain-loop einsum
-- written here, the plan cache, and every error message.

local gd = require "gdnn"

package.path = "tests/data/?.lua;" .. package.path
local REF = require "einsum_ref"

local TOL = 1e-10

-- Nested tables of the row-major values in data for shape.
local function nest(data, shape, dim, pos)
  dim, pos = dim or 1, pos or 1
  if dim > #shape then return data[pos], pos + 1 end
  local t = {}
  for i = 1, shape[dim] do
    t[i], pos = nest(data, shape, dim + 1, pos)
  end
  return t, pos
end

-- A tensor of shape holding data (row-major).
local function make(shape, data)
  if #shape == 0 then return gd.tensor(data[1]) end
  for _, n in ipairs(shape) do
    if n == 0 then return gd.zeros(table.unpack(shape)) end
  end
  return gd.tensor((nest(data, shape)))
end

local flat = require("tests.helpers").flat

local function shape_of(t)
  local s = {}
  for d = 1, t:dim() do s[d] = t:size(d) end
  return s
end

local function assert_values(expected, got)
  assert.are.equal(#expected, #got)
  for i = 1, #expected do
    assert.near(expected[i], got[i], TOL * (1 + math.abs(expected[i])))
  end
end

-- The plain-loop einsum: terms is a list of label strings (no '...'),
-- out the output labels, ops a list of {shape, data}. Every label
-- combination is visited and the products summed into the output.
local function loop_einsum(terms, out, ops)
  local size, labels = {}, {}
  for k, term in ipairs(terms) do
    for d = 1, #term do
      local c = term:sub(d, d)
      local n = ops[k].shape[d]
      if size[c] == nil then labels[#labels + 1] = c end
      if size[c] == nil or size[c] == 1 then size[c] = n end
    end
  end
  local outsize = {}
  for d = 1, #out do outsize[d] = size[out:sub(d, d)] end
  local total = 1
  for _, n in ipairs(outsize) do total = total * n end
  local res = {}
  for i = 1, total do res[i] = 0 end
  local idx = {}
  local function offset(term, shape)
    local o = 0
    for d = 1, #term do
      local i = idx[term:sub(d, d)]
      if shape[d] == 1 then i = 0 end
      o = o * shape[d] + i
    end
    return o + 1
  end
  local function visit(li)
    if li > #labels then
      local p = 1
      for k, term in ipairs(terms) do
        p = p * ops[k].data[offset(term, ops[k].shape)]
      end
      local o = offset(out, outsize)
      res[o] = res[o] + p
      return
    end
    local c = labels[li]
    for i = 0, size[c] - 1 do
      idx[c] = i
      visit(li + 1)
    end
  end
  if total > 0 then visit(1) end
  return res, outsize
end

-- NumPy's implicit output: the labels seen once, in ASCII order.
local function implicit(terms)
  local count, out = {}, {}
  for _, term in ipairs(terms) do
    for c in term:gmatch(".") do count[c] = (count[c] or 0) + 1 end
  end
  for c, n in pairs(count) do
    if n == 1 then out[#out + 1] = c end
  end
  table.sort(out)
  return table.concat(out)
end

-- A random einsum call: 1 to 4 operands of rank 0 to 3 over a few
-- labels (some upper case, some repeated, some of size 1).
local function random_case()
  local alphabet = {"i", "j", "k", "l", "A", "B"}
  local size = {}
  for _, c in ipairs(alphabet) do size[c] = math.random(1, 4) end
  local terms, ops, seen = {}, {}, {}
  for k = 1, math.random(1, 4) do
    local term, shape = "", {}
    for d = 1, math.random(0, 3) do
      local c = alphabet[math.random(#alphabet)]
      term = term .. c
      seen[c] = true
      -- size-1 broadcasting, unless c repeats within this term
      local n = size[c]
      if math.random() < 0.1 and not term:sub(1, -2):find(c, 1, true) then
        n = 1
      end
      shape[d] = n
    end
    local data = {}
    local count = 1
    for _, n in ipairs(shape) do count = count * n end
    for i = 1, count do data[i] = math.random() * 2 - 1 end
    terms[k], ops[k] = term, {shape = shape, data = data}
  end
  -- a repeated label within a term must have one size
  for k, term in ipairs(terms) do
    for d = 1, #term do
      local c = term:sub(d, d)
      local first = term:find(c, 1, true)
      ops[k].shape[d] = ops[k].shape[first]
    end
    local count = 1
    for _, n in ipairs(ops[k].shape) do count = count * n end
    for i = #ops[k].data + 1, count do ops[k].data[i] = math.random() end
    for i = count + 1, #ops[k].data do ops[k].data[i] = nil end
  end
  local out
  if math.random() < 0.3 then
    out = nil
  else
    local pool = {}
    for c in pairs(seen) do pool[#pool + 1] = c end
    table.sort(pool)
    out = ""
    for _ = 1, #pool do
      local i = math.random(#pool)
      if math.random() < 0.6 then out = out .. pool[i] end
      table.remove(pool, i)
    end
  end
  return terms, out, ops
end

describe("gdnn.einsum", function()
  it("matches NumPy on the stored cases", function()
    for _, case in ipairs(REF) do
      local ops = {}
      for k, op in ipairs(case.operands) do ops[k] = make(op.shape, op.data) end
      local r = gd.einsum(case.subscripts, table.unpack(ops))
      assert.are.same(case.shape, shape_of(r))
      assert_values(case.result, flat(r))
    end
  end)

  it("matches plain loops on random subscripts", function()
    math.randomseed(1234)
    for _ = 1, 300 do
      local terms, out, ops = random_case()
      local subs = table.concat(terms, ",")
      if out then subs = subs .. "->" .. out end
      local want, wshape = loop_einsum(terms, out or implicit(terms), ops)
      local tensors = {}
      for k, op in ipairs(ops) do tensors[k] = make(op.shape, op.data) end
      local r = gd.einsum(subs, table.unpack(tensors))
      assert.are.same(wshape, shape_of(r))
      assert_values(want, flat(r))
    end
  end)

  it("runs a short innermost output dimension along a long outer one",
     function()
    -- nothing is summed: the loop takes the long dimension as its row
    math.randomseed(99)
    local function rnd(n)
      local d = {}
      for i = 1, n do d[i] = math.random() end
      return d
    end
    for _, case in ipairs{
      {"ab,ab->ab", {{40, 3}, {40, 3}}},
      {"ab,ac->abc", {{40, 3}, {40, 2}}},
      {"ab->ab", {{50, 2}}},
      {"i,j,k->ijk", {{60}, {2}, {3}}},
    } do
      local subs, shapes = case[1], case[2]
      local terms, out = {}, subs:match("->(.*)$")
      for t in subs:match("^(.-)%->"):gmatch("[^,]+") do
        terms[#terms + 1] = t
      end
      local ops, tensors = {}, {}
      for k, sh in ipairs(shapes) do
        local n = 1
        for _, v in ipairs(sh) do n = n * v end
        ops[k] = {shape = sh, data = rnd(n)}
        tensors[k] = make(sh, ops[k].data)
      end
      local want, wshape = loop_einsum(terms, out, ops)
      local r = gd.einsum(subs, table.unpack(tensors))
      assert.are.same(wshape, shape_of(r))
      assert_values(want, flat(r))
    end
  end)

  it("reads transposed, narrowed and expanded views without copies", function()
    math.randomseed(99)
    local function rnd(...)
      local shape, data, n = {...}, {}, 1
      for _, s in ipairs(shape) do n = n * s end
      for i = 1, n do data[i] = math.random() end
      return shape, data
    end
    local sa, da = rnd(5, 4)
    local sb, db = rnd(5, 6)
    local a, b = make(sa, da), make(sb, db)
    local at = a:transpose(1, 2)                -- 4x5, strides 1, 4
    local want = loop_einsum({"ji", "jk"}, "ik", {{shape = sa, data = da},
                                                  {shape = sb, data = db}})
    assert_values(want, flat(gd.einsum("ij,jk->ik", at, b)))
    local sc, dc = rnd(4)
    local row = make(sc, dc)
    local ex = row:reshape(1, 4):expand(3, 4)  -- stride 0 rows
    local wexp = loop_einsum({"ij", "jk"}, "ik",
      {{shape = {1, 4}, data = dc}, {shape = {4, 5}, data = flat(at)}})
    local got = flat(gd.einsum("ij,jk->ik", ex, at))
    for r = 0, 2 do
      for c = 1, 5 do assert.near(wexp[c], got[r * 5 + c], 1e-12) end
    end
    local sub = b:narrow(2, 2, 3)                -- 5x3, row stride 6
    local wsub = {}
    for i = 1, 5 do
      for j = 1, 3 do wsub[(i - 1) * 3 + j] = db[(i - 1) * 6 + j + 1] end
    end
    assert_values(loop_einsum({"ji", "jk"}, "ik",
      {{shape = sa, data = da}, {shape = {5, 3}, data = wsub}}),
      flat(gd.einsum("ij,jk->ik", at, sub)))
  end)

  it("multiplies matrices as matmul does", function()
    local a = gd.randn(7, 9)
    local b = gd.randn(9, 4)
    assert_values(flat(gd.matmul(a, b)), flat(gd.einsum("ij,jk->ik", a, b)))
    assert_values(flat(gd.matmul(a, b):transpose(1, 2)),
                  flat(gd.einsum("ij,jk->ki", a, b)))
  end)

  it("sums over a repeated index", function()
    local m = gd.tensor{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
    assert.near(15, gd.einsum("ii", m):totable(), 1e-12)
    assert.are.same({1, 5, 9}, gd.einsum("ii->i", m):totable())
  end)

  it("broadcasts '...' and size-1 dims", function()
    local a = gd.tensor{{1, 2}, {3, 4}, {5, 6}}
    local v = gd.tensor{10, 100}
    assert.are.same({210, 430, 650}, gd.einsum("...j,j->...", a, v):totable())
    local col = gd.tensor{{1}, {2}, {3}}
    assert.are.same({{1, 2}, {6, 8}, {15, 18}},
                    gd.einsum("ij,ij->ij", col, a):totable())
  end)

  it("takes numbers and nested tables as operands", function()
    assert.are.same({2, 4}, gd.einsum(",i->i", 2, {1, 2}):totable())
    assert.near(11, gd.einsum("i,i", {1, 2}, {3, 4}):totable(), 1e-12)
  end)

  it("gives zeros when a summed dimension is empty", function()
    local r = gd.einsum("ij,jk->ik", gd.zeros(2, 0), gd.zeros(0, 3))
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, r:totable())
    assert.are.equal(0, gd.einsum("i,i->i", gd.zeros(0), gd.zeros(0)):numel())
  end)

  it("contracts more operands than the exhaustive search covers", function()
    math.randomseed(7)
    local terms = {"ab", "bc", "cd", "de", "ef", "fg", "gh", "hi"}
    local ops, tensors = {}, {}
    for k = 1, #terms do
      local data = {}
      for i = 1, 9 do data[i] = math.random() end
      ops[k] = {shape = {3, 3}, data = data}
      tensors[k] = make(ops[k].shape, data)
    end
    local want = loop_einsum(terms, "ai", ops)
    assert_values(want, flat(gd.einsum(table.concat(terms, ",") .. "->ai",
                                       table.unpack(tensors))))
  end)

  it("writes into an existing tensor and plans a repeat once", function()
    local a, b = gd.randn(6, 5), gd.randn(5, 4)
    local out = gd.zeros(6, 4)
    gd.einsum_into(out, "ij,jk->ik", a, b)
    local h0, m0 = gd.einsum_cache_stats()
    for _ = 1, 5 do
      assert.are.equal(out, gd.einsum_into(out, "ij,jk->ik", a, b))
    end
    local h1, m1 = gd.einsum_cache_stats()
    assert.are.equal(m0, m1)
    assert.are.equal(h0 + 5, h1)
    assert_values(flat(gd.matmul(a, b)), flat(out))
    local outt = gd.zeros(4, 6):transpose(1, 2)
    gd.einsum_into(outt, "ij,jk->ik", a, b)
    assert_values(flat(gd.matmul(a, b)), flat(outt))
    gd.einsum_cache_clear()
    assert_values(flat(gd.matmul(a, b)), flat(gd.einsum("ij,jk", a, b)))
  end)
end)

describe("gdnn.einsum_path", function()
  it("gives numpy's order and FLOP count for five operands", function()
    local m = gd.ones(10, 10)
    local pairs_, report, flops = gd.einsum_path("pi,qj,ijkl,rk,sl->pqrs",
                                                 m, m, gd.ones(10, 10, 10, 10),
                                                 m, m)
    assert.are.same({{1, 3}, {1, 4}, {1, 3}, {1, 2}}, pairs_)
    assert.near(8e5, flops, 1e-6)
    assert.truthy(report:find("Naive FLOP count:  5.000e+08", 1, true))
    assert.truthy(report:find("ijkl,pi->jklp", 1, true))
  end)

  it("takes the cheap pair first in a chain", function()
    local p = gd.einsum_path("ij,jk,kl->il", gd.ones(2, 30), gd.ones(30, 40),
                             gd.ones(40, 5))
    assert.are.same({{1, 2}, {1, 2}}, p)
  end)

  it("gives one step for one operand", function()
    local p, _, flops = gd.einsum_path("ij->i", gd.ones(3, 4))
    assert.are.same({{1}}, p)
    assert.near(24, flops, 1e-12)
  end)
end)

describe("gdnn.einsum errors", function()
  local a, b = gd.ones(2, 3), gd.ones(3, 4)
  local cases = {
    {"i#j", {a}, "invalid character '#' at position 2 of 'i#j'"},
    {"ij,jk", {a}, "subscripts 'ij,jk' name 2 operands, got 1"},
    {"ij", {a, b}, "subscripts 'ij' name 1 operand, got 2"},
    {"ij,jk", {a, a}, "label 'j' has size 3 in operand 1 (2x3) but 2 in " ..
                      "operand 2 (2x3)"},
    {"ij,jk->iki", {a, b}, "output label 'i' repeats in 'ij,jk->iki'"},
    {"ij,jk->iz", {a, b}, "output label 'z' of 'ij,jk->iz' is in no input"},
    {"ij,jkl", {a, b}, "operand 2 has 2 dims, subscripts 'jkl' name 3"},
    {"ijk...", {a}, "operand 1 has 2 dims, subscripts 'ijk...' name at " ..
                   "least 3"},
    {"i-j", {a}, "'-' at position 2 of 'i-j' is not part of '->'"},
    {"i->j->k", {a}, "a second '->'"},
    {".i", {a}, "'.' at position 1 of '.i' is not part of '...'"},
    {"ij->i,j", {a}, "',' at position 6 of 'ij->i,j' is in the output"},
    {"ii", {a}, "label 'i' repeats in operand 1 with sizes 2 and 3"},
    {"...i,...i", {gd.ones(2, 3), gd.ones(4, 3)},
     "'...' dims of operand 1 (2x3) and operand 2 (4x3) do not " ..
     "broadcast (2 vs 4)"},
    {"...i->i", {a}, "needs '...' for the 1 broadcast dims"},
  }
  for _, c in ipairs(cases) do
    it("rejects '" .. c[1] .. "' with a message saying why", function()
      local ok, msg = pcall(gd.einsum, c[1], table.unpack(c[2]))
      assert.is_false(ok)
      assert.truthy(msg:find(c[3], 1, true), msg)
    end)
  end

  it("blames the operand at fault as the argument", function()
    local ok, msg = pcall(gd.einsum, "ij,jkl", a, b)
    assert.is_false(ok)
    assert.truthy(msg:find("bad argument #3 to", 1, true), msg)
  end)

  it("rejects an output of the wrong shape or a broadcast output", function()
    local ok, msg = pcall(gd.einsum_into, gd.zeros(2, 5), "ij,jk->ik", a, b)
    assert.is_false(ok)
    assert.truthy(msg:find("the output is 2x5 but 'ij,jk->ik' gives 2x4",
                           1, true), msg)
    ok, msg = pcall(gd.einsum_into, gd.zeros(1, 4):expand(2, 4),
                    "ij,jk->ik", a, b)
    assert.is_false(ok)
    assert.truthy(msg:find("broadcast view", 1, true), msg)
  end)

  it("rejects operands that are not tensors and too many operands", function()
    local ok, msg = pcall(gd.einsum, "i", "x")
    assert.is_false(ok)
    assert.truthy(msg:find("bad argument #2", 1, true), msg)
    local many = {}
    for k = 1, 33 do many[k] = gd.ones(1) end
    ok, msg = pcall(gd.einsum, string.rep("i,", 32) .. "i",
                    table.unpack(many))
    assert.is_false(ok)
    assert.truthy(msg:find("at most 32 operands", 1, true), msg)
    ok, msg = pcall(gd.einsum, "ij")
    assert.is_false(ok)
    assert.truthy(msg:find("at least one operand", 1, true), msg)
  end)
end)
