-- Specs of gdnn tensors as Lua sees them: creation, views, indexing,
-- arithmetic, reductions, matmul, printing and argument errors.

local gd = require "gdnn"

local EPS = 1e-12

-- The message of the error that f raises, without its position.
local function message(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "expected an error")
  return (tostring(err):gsub("^[^:\n]*:%d+: ", ""))
end

-- Compare a tensor with a nested table of expected numbers.
local function same(expected, t, eps)
  local got = t:totable()
  local function walk(e, g, where)
    if type(e) == "table" then
      assert.equal(#e, #g, "length at " .. where)
      for i = 1, #e do walk(e[i], g[i], where .. "[" .. i .. "]") end
    else
      assert.near(e, g, eps or EPS, "value at " .. where)
    end
  end
  walk(expected, got, "")
end

-- A matrix of the given size whose entries are f(i, j).
local function matrix(n, m, f)
  local rows = {}
  for i = 1, n do
    rows[i] = {}
    for j = 1, m do rows[i][j] = f(i, j) end
  end
  return gd.tensor(rows)
end

describe("gdnn tensor creation", function()
  it("makes a tensor from a nested table and back", function()
    local t = gd.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.same({2, 3}, t:shape())
    assert.same({{1, 2, 3}, {4, 5, 6}}, t:totable())
  end)

  it("makes a 0-d tensor from a number", function()
    local t = gd.tensor(2.5)
    assert.equal(0, t:dim())
    assert.same({}, t:shape())
    assert.equal(2.5, t:totable())
    assert.equal(1, t:numel())
  end)

  it("makes an empty 1-d tensor from an empty table", function()
    local t = gd.tensor{}
    assert.same({0}, t:shape())
    assert.same({}, t:totable())
  end)

  it("copies a tensor given to gd.tensor, and gd.Tensor is the same", function()
    local a = gd.tensor{1, 2}
    local b = gd.Tensor(a)
    b[1] = 9
    assert.equal(1, a[1])
    assert.equal(gd.tensor, gd.Tensor)
  end)

  it("fills zeros, ones and full from sizes or a table", function()
    same({{0, 0}, {0, 0}}, gd.zeros(2, 2))
    same({{1, 1, 1}}, gd.ones{1, 3})
    same({{7, 7}, {7, 7}}, gd.full(2, 2, 7))
    same({7, 7, 7}, gd.full({3}, 7))
    assert.equal(0, gd.zeros():dim())
  end)

  it("makes identity matrices, square or not", function()
    same({{1, 0}, {0, 1}}, gd.eye(2))
    same({{1, 0, 0}, {0, 1, 0}}, gd.eye(2, 3))
  end)

  it("makes ranges as numpy.arange does", function()
    same({0, 1, 2, 3}, gd.arange(4))
    same({2, 3, 4}, gd.arange(2, 5))
    same({1, 1.5, 2, 2.5}, gd.arange(1, 3, 0.5))
    same({5, 3}, gd.arange(5, 1, -2))
  end)

  it("spaces points evenly, 50 by default", function()
    same({0, 0.25, 0.5, 0.75, 1}, gd.linspace(0, 1, 5))
    local t = gd.linspace(-1, 1)
    assert.equal(50, t:numel())
    assert.near(-1, t[1], EPS)
    assert.near(1, t[50], EPS)
  end)

  it("draws uniform numbers in [0, 1)", function()
    gd.seed(1)
    local t = gd.rand(1000)
    assert.is_true(t:min() >= 0 and t:max() < 1)
    assert.near(0.5, t:mean(), 0.05)
  end)

  it("draws standard normal numbers", function()
    gd.seed(2)
    local t = gd.randn(100, 100)
    assert.near(0, t:mean(), 0.05)
    assert.near(1, ((t - t:mean()) ^ 2):mean(), 0.05)
  end)

  it("repeats its random numbers after the same seed", function()
    gd.seed(42)
    local a = gd.randn(3, 4):totable()
    local u = gd.rand(5):totable()
    gd.seed(42)
    assert.same(a, gd.randn(3, 4):totable())
    assert.same(u, gd.rand(5):totable())
    gd.seed(43)
    assert.are_not.same(a, gd.randn(3, 4):totable())
  end)

  it("tells tensors from other values", function()
    assert.is_true(gd.istensor(gd.zeros(1)))
    assert.is_false(gd.istensor({}))
    assert.is_false(gd.istensor(io.stdout))
  end)
end)

describe("gdnn tensor facts", function()
  local t = gd.zeros(2, 3, 4)

  it("reports shape, sizes, dims and element count", function()
    assert.same({2, 3, 4}, t:shape())
    assert.same({2, 3, 4}, t:size())
    assert.equal(3, t:size(2))
    assert.equal(4, t:size(-1))
    assert.equal(3, t:dim())
    assert.equal(24, t:numel())
    assert.equal(2, #t)
  end)

  it("reports strides in elements and contiguity", function()
    assert.same({12, 4, 1}, t:strides())
    assert.is_true(t:is_contiguous())
    assert.is_false(t:transpose(1, 3):is_contiguous())
  end)
end)

describe("gdnn tensor indexing", function()
  it("gives a number for a 1-d tensor, counting from 1", function()
    local t = gd.tensor{10, 20, 30}
    assert.equal(10, t[1])
    assert.equal(30, t[3])
    assert.equal(30, t[-1])
    assert.equal("number", type(t[2]))
  end)

  it("gives a view of a row for a 2-d tensor", function()
    local t = gd.tensor{{1, 2}, {3, 4}}
    local row = t[2]
    assert.is_true(gd.istensor(row))
    same({3, 4}, row)
    row[1] = 30
    assert.equal(30, t[{2, 1}])
  end)

  it("reads and writes one element with a table of indices", function()
    local t = gd.zeros(2, 3)
    t[{2, 3}] = 5
    assert.equal(5, t[{2, 3}])
    assert.equal(5, t[2][3])
    t[{-1, -1}] = 6
    assert.equal(6, t[{2, 3}])
    assert.equal(3.5, gd.tensor(3.5)[{}])
  end)

  it("assigns numbers, tables and tensors to rows", function()
    local t = gd.zeros(3, 2)
    t[1] = 7
    t[2] = {1, 2}
    t[{3}] = gd.tensor{3, 4}
    same({{7, 7}, {1, 2}, {3, 4}}, t)
    local v = gd.zeros(3)
    v[2] = 4
    same({0, 4, 0}, v)
  end)

  it("finds methods by name and has no other fields", function()
    local t = gd.zeros(2)
    assert.equal("function", type(t.sum))
    assert.is_nil(t.nosuchmethod)
  end)
end)

describe("gdnn tensor views", function()
  it("reshapes without copying when the strides allow", function()
    local t = gd.arange(6)
    local r = t:reshape(2, 3)
    r[{1, 2}] = 100
    assert.equal(100, t[2])
    same({{0, 100, 2}, {3, 4, 5}}, r)
    assert.same({3, 2}, t:reshape{3, -1}:shape())
    assert.same({6}, r:view(-1):shape())
  end)

  it("reshapes a transposed matrix by copying, which view refuses", function()
    local t = gd.tensor{{1, 2, 3}, {4, 5, 6}}
    local c = t:transpose():reshape(6)
    same({1, 4, 2, 5, 3, 6}, c)
    c[1] = 0
    assert.equal(1, t[{1, 1}])
    assert.equal("calling 'view' on bad self (a view of shape 3x2 cannot be "
      .. "reshaped to 6 without a copy)", message(function()
        t:transpose():view(6)
      end))
  end)

  it("transposes, swapping two dimensions or reversing all", function()
    local t = gd.arange(24):reshape(2, 3, 4)
    assert.same({4, 3, 2}, t:transpose():shape())
    assert.same({2, 4, 3}, t:transpose(2, 3):shape())
    local m = gd.tensor{{1, 2}, {3, 4}}
    local mt = m:transpose()
    same({{1, 3}, {2, 4}}, mt)
    mt[{1, 2}] = 9
    assert.equal(9, m[{2, 1}])
  end)

  it("permutes dimensions given as numbers or a table", function()
    local t = gd.arange(24):reshape(2, 3, 4)
    local p = t:permute(3, 1, 2)
    assert.same({4, 2, 3}, p:shape())
    assert.equal(t[{2, 3, 4}], p[{4, 2, 3}])
    assert.same({3, 4, 2}, t:permute{2, 3, 1}:shape())
  end)

  it("narrows and selects without copying", function()
    local t = gd.arange(12):reshape(3, 4)
    local n = t:narrow(2, 2, 2)
    same({{1, 2}, {5, 6}, {9, 10}}, n)
    n[{1, 1}] = -1
    assert.equal(-1, t[{1, 2}])
    local s = t:select(2, 4)
    same({3, 7, 11}, s)
    s[3] = -2
    assert.equal(-2, t[{3, 4}])
    assert.same({3, 0}, t:narrow(2, 5, 0):shape())
  end)

  it("expands with stride 0 and refuses writes there", function()
    local t = gd.tensor{{1}, {2}}
    local e = t:expand(2, 3)
    same({{1, 1, 1}, {2, 2, 2}}, e)
    assert.same({1, 0}, e:strides())
    assert.same({4, 2, 3}, t:expand(4, 2, 3):shape())
    assert.equal("bad argument #1 to 'newindex' (the tensor is a broadcast "
      .. "view and refuses writes)", message(function() e[{1, 1}] = 5 end))
  end)

  it("squeezes and unsqueezes dimensions of size 1", function()
    local t = gd.zeros(1, 3, 1)
    assert.same({3}, t:squeeze():shape())
    assert.same({3, 1}, t:squeeze(1):shape())
    assert.same({1, 3}, t:squeeze(-1):shape())
    local v = gd.zeros(3)
    assert.same({1, 3}, v:unsqueeze(1):shape())
    assert.same({3, 1}, v:unsqueeze(2):shape())
    assert.same({3, 1}, v:unsqueeze(-1):shape())
  end)

  it("makes contiguous copies only when needed", function()
    local t = gd.zeros(2, 3)
    assert.equal(t, t:contiguous())
    local c = t:transpose():contiguous()
    assert.is_true(c:is_contiguous())
    c[{1, 1}] = 1
    assert.equal(0, t[{1, 1}])
  end)

  it("clones into independent storage", function()
    local t = gd.tensor{1, 2}
    local c = t:clone()
    c[1] = 5
    assert.equal(1, t[1])
  end)

  it("copies with broadcasting and fills, returning the tensor", function()
    local t = gd.zeros(2, 3)
    assert.equal(t, t:copy{1, 2, 3})
    same({{1, 2, 3}, {1, 2, 3}}, t)
    t:copy(gd.tensor{{-1}, {-2}})
    same({{-1, -1, -1}, {-2, -2, -2}}, t)
    assert.equal(t, t:fill(4))
    same({{4, 4, 4}, {4, 4, 4}}, t)
    t:select(1, 2):fill(0)
    same({{4, 4, 4}, {0, 0, 0}}, t)
  end)
end)

describe("gdnn tensor arithmetic", function()
  local a = gd.tensor{{1, 2, 3}, {4, 5, 6}}
  local col = gd.tensor{{10}, {20}}
  local row = gd.tensor{1, 0, -1}

  it("adds, subtracts, multiplies, divides and raises element-wise", function()
    same({{2, 4, 6}, {8, 10, 12}}, a + a)
    same({{0, 0, 0}, {0, 0, 0}}, a - a)
    same({{1, 4, 9}, {16, 25, 36}}, a * a)
    same({{1, 1, 1}, {1, 1, 1}}, a / a)
    same({{1, 4, 27}, {256, 3125, 46656}}, a ^ a)
    same({{-1, -2, -3}, {-4, -5, -6}}, -a)
  end)

  it("broadcasts as NumPy does", function()
    same({{11, 12, 13}, {24, 25, 26}}, a + col)
    same({{2, 2, 2}, {5, 5, 5}}, a + row)
    same({{11, 10, 9}, {21, 20, 19}}, col + row)
    same({{10, 0, -10}, {20, 0, -20}}, col * row)
  end)

  it("takes numbers and tables on either side", function()
    same({{2, 3, 4}, {5, 6, 7}}, a + 1)
    same({{0, -1, -2}, {-3, -4, -5}}, 1 - a)
    same({{2, 1, 2 / 3}, {0.5, 0.4, 1 / 3}}, 2 / a)
    same({{1, 4, 9}, {16, 25, 36}}, a ^ 2)
    same({{2, 4, 8}, {16, 32, 64}}, 2 ^ a)
    same({{2, 2, 2}, {5, 5, 5}}, a + {1, 0, -1})
    same({{2, 2, 2}, {5, 5, 5}}, {1, 0, -1} + a)
    same({{0, 2, 6}, {0, 5, 12}}, gd.mul({0, 1, 2}, a))
  end)

  it("has every operator as a function and as a method", function()
    same((a + col):totable(), gd.add(a, col))
    same((a - col):totable(), a:sub(col))
    same((a * row):totable(), gd.mul(a, row))
    same((a / 2):totable(), a:div(2))
    same((a ^ 0.5):totable(), gd.pow(a, 0.5))
    same((-a):totable(), a:neg())
    same({{1, 2, 3}, {4, 5, 6}}, gd.maximum(a, 1))
    same({{1, 1, 1}, {1, 1, 1}}, a:minimum(1))
    same({{0, 1, 0}, {0, 0, 0}}, gd.eq(a, 2))
    same({{1, 0, 1}, {1, 1, 1}}, a:ne(2))
    same({{1, 0, 0}, {0, 0, 0}}, a:lt(2))
    same({{1, 1, 0}, {0, 0, 0}}, a:le(2))
    same({{0, 0, 1}, {1, 1, 1}}, a:gt(2))
    same({{0, 1, 1}, {1, 1, 1}}, a:ge(2))
    same({{math.atan(1, 2)}}, gd.atan2({{1}}, 2))
  end)

  it("writes into a given tensor and returns it", function()
    local out = gd.zeros(2, 3)
    assert.equal(out, gd.add(a, col, out))
    same({{11, 12, 13}, {24, 25, 26}}, out)
    assert.equal(out, a:mul(2, out))
    same({{2, 4, 6}, {8, 10, 12}}, out)
    assert.equal(out, gd.sub(1, a, out))
    same({{0, -1, -2}, {-3, -4, -5}}, out)
    local b = a:clone()
    b:exp(b)
    same((a:exp()):totable(), b)
  end)

  local unary = {
    abs = math.abs, exp = math.exp, log = math.log, sqrt = math.sqrt,
    sin = math.sin, cos = math.cos, tan = math.tan, asin = math.asin,
    acos = math.acos, atan = math.atan, floor = math.floor,
    ceil = math.ceil,
    sinh = function(x) return (math.exp(x) - math.exp(-x)) / 2 end,
    cosh = function(x) return (math.exp(x) + math.exp(-x)) / 2 end,
    tanh = function(x)
      return (math.exp(x) - math.exp(-x)) / (math.exp(x) + math.exp(-x))
    end,
    sigmoid = function(x) return 1 / (1 + math.exp(-x)) end,
    relu = function(x) return x > 0 and x or 0 end,
    sign = function(x) return x > 0 and 1 or x < 0 and -1 or 0 end,
    square = function(x) return x * x end,
    reciprocal = function(x) return 1 / x end,
    log1p = function(x) return math.log(1 + x) end,
    expm1 = function(x) return math.exp(x) - 1 end,
    neg = function(x) return -x end,
  }
  for name, f in pairs(unary) do
    it("computes " .. name .. " element-wise as gd." .. name .. " and a method",
      function()
        local xs = {0.1, 0.25, 0.5, 0.75, 0.9}
        if name == "abs" or name == "sign" or name == "relu"
            or name == "floor" or name == "ceil" or name == "neg" then
          xs = {-1.5, -0.5, 0, 0.5, 2.5}
        end
        local want = {}
        for i, x in ipairs(xs) do want[i] = f(x) end
        local t = gd.tensor(xs)
        same(want, gd[name](t), 1e-12)
        same(want, t[name](t), 1e-12)
        local out = gd.zeros(#xs)
        assert.equal(out, t[name](t, out))
        same(want, out, 1e-12)
      end)
  end

  it("rounds halves to even, as NumPy does", function()
    same({0, 2, 2, -2, 3}, gd.round{0.5, 1.5, 2.5, -2.5, 2.6})
  end)

  it("gives plain Tensors from arithmetic on views", function()
    local v = a:transpose()
    local r = v + 1
    assert.equal("gdnn.Tensor", getmetatable(r).__name)
    same({{2, 5}, {3, 6}, {4, 7}}, r)
  end)
end)

describe("gdnn tensor equality", function()
  it("compares shapes and values with ==", function()
    local a = gd.tensor{{1, 2}, {3, 4}}
    assert.is_true(a == a)
    assert.is_true(a == gd.tensor{{1, 2}, {3, 4}})
    assert.is_false(a == gd.tensor{{1, 2}, {3, 5}})
    assert.is_false(a == gd.tensor{1, 2, 3, 4})
    assert.is_true(a:transpose() == gd.tensor{{1, 3}, {2, 4}})
    assert.is_false(a == 1)
    assert.is_false(gd.tensor{0 / 0} == gd.tensor{0 / 0})
  end)
end)

describe("gdnn tensor reductions", function()
  local a = gd.tensor{{1, -2, 3}, {4, 5, -6}}

  it("reduces all elements to a number", function()
    assert.near(5, a:sum(), EPS)
    assert.near(5 / 6, a:mean(), EPS)
    assert.near(720, a:prod(), EPS)
    assert.near(5, a:max(), EPS)
    assert.near(-6, a:min(), EPS)
    assert.equal(5, a:argmax())
    assert.equal(6, a:argmin())
    assert.near(math.sqrt(91), a:norm(), EPS)
    assert.near(5, gd.sum(a), EPS)
  end)

  it("reduces one dimension, counting from 1", function()
    same({5, 3, -3}, a:sum(1))
    same({2, 3}, a:sum(2))
    same({2, 3}, a:sum(-1))
    same({2.5, 1.5, -1.5}, a:mean(1))
    same({-6, -120}, a:prod(2))
    same({4, 5, 3}, a:max(1))
    same({-2, -6}, a:min(2))
    same({2, 2, 1}, a:argmax(1))
    same({3, 2}, gd.argmax(a, 2))
    same({1, 1, 2}, a:argmin(1))
    same({math.sqrt(14), math.sqrt(77)}, a:norm(2))
  end)

  it("keeps reduced dimensions on request", function()
    assert.same({1, 3}, a:sum(1, true):shape())
    assert.same({2, 1}, a:max(2, true):shape())
    assert.same({1, 1}, a:sum(nil, true):shape())
    same({{5}}, a:sum(nil, true))
  end)

  it("reduces into a given tensor", function()
    local out = gd.zeros(3)
    assert.equal(out, a:sum(1, false, out))
    same({5, 3, -3}, out)
    assert.equal(out, gd.argmax(a, 1, false, out))
    same({2, 2, 1}, out)
    local s = gd.zeros()
    a:sum(nil, false, s)
    assert.near(5, s[{}], EPS)
  end)
end)

describe("gdnn.matmul", function()
  -- The product computed with plain loops.
  local function loops(a, b)
    local n, k, m = a:size(1), a:size(2), b:size(2)
    return matrix(n, m, function(i, j)
      local s = 0
      for l = 1, k do s = s + a[{i, l}] * b[{l, j}] end
      return s
    end)
  end

  it("multiplies matrices as loops do", function()
    gd.seed(7)
    local a, b = gd.randn(3, 4), gd.randn(4, 5)
    same(loops(a, b):totable(), gd.matmul(a, b), 1e-12)
    same(loops(a, b):totable(), a:matmul(b), 1e-12)
  end)

  it("multiplies transposed views", function()
    gd.seed(8)
    local a, b = gd.randn(4, 3), gd.randn(5, 4)
    same(loops(a:transpose(), b:transpose()):totable(),
      gd.matmul(a:transpose(), b:transpose()), 1e-12)
  end)

  it("takes vectors on either side", function()
    local m = gd.tensor{{1, 2}, {3, 4}}
    same({5, 11}, m:matmul{1, 2})
    same({7, 10}, gd.matmul({1, 2}, m))
    assert.near(5, gd.matmul({1, 2}, {1, 2})[{}], EPS)
  end)

  it("writes into a given tensor", function()
    local out = gd.zeros(2, 2)
    local m = gd.tensor{{1, 2}, {3, 4}}
    assert.equal(out, gd.matmul(m, m, out))
    same({{7, 10}, {15, 22}}, out)
  end)
end)

describe("gdnn tensor printing", function()
  it("aligns columns and ends with the shape", function()
    local s = tostring(gd.tensor{{1, -20}, {300, 4}})
    local lines = {}
    for line in s:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal(3, #lines)
    assert.equal("[[  1. -20.]", lines[1])
    assert.equal(" [300.   4.]]", lines[2])
    assert.truthy(lines[3]:find("2x2", 1, true))
  end)

  it("summarises large tensors with edge items", function()
    local s = tostring(gd.arange(2000))
    assert.truthy(s:find("...", 1, true))
    assert.truthy(s:find("2000", 1, true))
    assert.is_true(#s < 200)
  end)

  it("prints a 10^8-element expanded view at once", function()
    local t = gd.ones(1):expand(100000000)
    local start = os.clock()
    local s = tostring(t)
    -- A print that visited every element would take seconds.
    assert.is_true(os.clock() - start < 0.5)
    assert.truthy(s:find("...", 1, true))
    assert.truthy(s:find("100000000", 1, true))
  end)

  it("follows print options and per-call format options", function()
    local t = gd.tensor{1 / 3}
    assert.truthy(t:format{precision = 2}:find("0.33", 1, true))
    assert.falsy(t:format{precision = 2}:find("0.333", 1, true))
    gd.set_printoptions{precision = 6}
    assert.truthy(tostring(t):find("0.333333", 1, true))
    gd.set_printoptions{precision = 4}
  end)
end)

describe("gdnn tensor release", function()
  it("releases a to-be-closed tensor at the end of its scope", function()
    local kept
    do
      local t <close> = gd.zeros(3)
      kept = t
    end
    assert.equal("closed tensor", tostring(kept))
    assert.equal("bad argument #1 to 'sum' (tensor has been closed)",
      message(function() local _ = gd.sum(kept) end))
  end)

  it("releases once however often __gc and __close run", function()
    local t = gd.zeros(3)
    local mt = getmetatable(t)
    assert.equal(mt.__gc, mt.__close)
    mt.__close(t)
    mt.__gc(t)
    mt.__close(t)
    assert.is_false(gd.istensor(nil))
    assert.equal("closed tensor", tostring(t))
  end)

  it("keeps storage alive while a view of it lives", function()
    local v
    do
      local t <close> = gd.arange(4)
      v = t:reshape(2, 2)
    end
    collectgarbage()
    same({{0, 1}, {2, 3}}, v)
  end)
end)

describe("gdnn tensors when core allocations fail", function()
  local m = gd.tensor{{1, 2}, {3, 4}}
  local ops = {
    {"zeros", function() return gd.zeros(3, 3) end},
    {"a nested table", function() return gd.tensor{{1, 2}, {3, 4}} end},
    {"addition", function() return m + 1 end},
    {"addition of a table", function() return m + {1, 2} end},
    {"a row view", function() return m[1] end},
    {"a copying reshape", function() return m:transpose():reshape(4) end},
    {"exp", function() return m:exp() end},
    {"a reduction", function() return m:sum(1) end},
    {"argmax", function() return m:argmax(2) end},
    {"matmul", function() return gd.matmul(m, m) end},
    {"printing", function() return tostring(m) end},
    {"rand", function() return gd.rand(2, 2) end},
  }
  for _, op in ipairs(ops) do
    it("raises a clean error for " .. op[1] .. " and then works", function()
      local n, ok, err = 0, false, nil
      repeat
        gd._fail_allocations(n)
        ok, err = pcall(op[2])
        gd._fail_allocations()
        if not ok then
          assert.truthy(tostring(err):find("cannot allocate", 1, true),
            tostring(err))
        end
        n = n + 1
      until ok or n > 20
      assert.is_true(ok)
      assert.is_true(n > 1, "some allocation was made to fail")
    end)
  end
end)

describe("gdnn tensor argument errors", function()
  local m = gd.ones(2, 3)
  local cases = {
    {"bad argument #2 to 'add' (shapes 2x3 and 4 cannot be broadcast)",
      function() local _ = gd.add(m, gd.ones(4)) end},
    {"bad argument #2 to 'add' (shapes 2x3 and 4 cannot be broadcast)",
      function() local _ = m + gd.ones(4) end},
    {"bad argument #1 to 'add' (shapes 2x3 and 4 cannot be broadcast)",
      function() local _ = m:add(gd.ones(4)) end},
    {"bad argument #2 to 'mul' (shapes 2x3 and 3x2 cannot be broadcast)",
      function() local _ = m * gd.ones(3, 2) end},
    {"bad argument #2 to 'add' (tensor, number or table expected, got "
      .. "string)", function() local _ = m + "x" end},
    {"bad argument #3 to 'add' (out has shape 3, the result has shape 2x3)",
      function() gd.add(m, 1, gd.ones(3)) end},
    {"bad argument #3 to 'add' (tensor expected, got table)",
      function() gd.add(m, 1, {}) end},
    {"bad argument #2 to 'exp' (out has shape 2, the result has shape 2x3)",
      function() gd.exp(m, gd.ones(2)) end},
    {"bad argument #1 to 'exp' (tensor, number or table expected, got "
      .. "boolean)", function() gd.exp(true) end},
    {"bad argument #2 to 'matmul' (shapes 2x3 and 2x3 do not match "
      .. "(3 != 2))", function() gd.matmul(m, m) end},
    {"bad argument #2 to 'index' (index 3 out of range for dimension 1 of "
      .. "size 2)", function() local _ = m[3] end},
    {"bad argument #2 to 'index' (index -3 out of range for dimension 1 of "
      .. "size 2)", function() local _ = m[-3] end},
    {"bad argument #2 to 'index' (index 4 out of range for dimension 2 of "
      .. "size 3)", function() local _ = m[{1, 4}] end},
    {"bad argument #2 to 'index' (3 indices for a 2x3 tensor)",
      function() local _ = m[{1, 1, 1}] end},
    {"bad argument #2 to 'index' (number has no integer representation)",
      function() local _ = m[1.5] end},
    {"bad argument #2 to 'index' (a 0-d tensor has no dimension to index)",
      function() local _ = gd.tensor(1)[1] end},
    {"bad argument #3 to 'newindex' (number expected, got table)",
      function() m[{1, 1}] = {} end},
    {"bad argument #3 to 'newindex' (shape 2 cannot be broadcast to 3)",
      function() m[1] = {1, 2} end},
    {"bad argument #2 to 'newindex' (integer or table expected, got "
      .. "string)", function() m.x = 1 end},
    {"bad argument #1 to 'len' (a 0-d tensor has no length)",
      function() local _ = #gd.tensor(1) end},
    {"bad argument #1 to 'tensor' (ragged nested table: [2] has length 1, "
      .. "expected 2)", function() gd.tensor{{1, 2}, {3}} end},
    {"bad argument #1 to 'tensor' (nested table entry [2][2] is a string, "
      .. "expected a number)", function() gd.tensor{{1, 2}, {3, "4"}} end},
    {"bad argument #1 to 'tensor' (nested table entry [2] is a number, "
      .. "expected a table)", function() gd.tensor{{1, 2}, 3} end},
    {"bad argument #1 to 'tensor' (table, number or tensor expected, got "
      .. "string)", function() gd.tensor("1") end},
    {"bad argument #1 to 'zeros' (size -1 is negative)",
      function() gd.zeros(-1) end},
    {"bad argument #2 to 'ones' (size 1.5 is not an integer)",
      function() gd.ones(2, 1.5) end},
    {"bad argument #1 to 'zeros' (size expected, got string)",
      function() gd.zeros{"a"} end},
    {"bad argument #1 to 'zeros' (17 dimensions, at most 16)",
      function()
        gd.zeros{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
      end},
    {"zeros: cannot allocate 1e+18 elements (shape 1000000x1000000x1000000)",
      function() gd.zeros(1e6, 1e6, 1e6) end},
    {"bad argument #1 to 'tensor' (ragged nested table: [1][1][2] has " ..
     "length 1, expected 4096)",
      function()
        -- found by the nested-table fuzzer: the first entries claim
        -- 4096x4096x4096 numbers; the table is checked before allocating
        local inner = {}
        for i = 1, 4096 do inner[i] = {1} end
        inner[1] = {}
        for i = 1, 4096 do inner[1][i] = 1 end
        local outer = {inner}
        for i = 2, 4096 do outer[i] = 1 end
        gd.tensor{outer}
      end},
    {"zeros: cannot allocate 1.2e+20 elements (shape " ..
     "6666666666666666661x6x3x0)",
      function() gd.zeros(6666666666666666661, 6, 3, 0) end},
    {"bad argument #3 to 'arange' (step is zero)",
      function() gd.arange(0, 1, 0) end},
    {"bad argument #1 to 'full' (number expected, got no value)",
      function() gd.full() end},
    {"bad argument #1 to 'reshape' (cannot reshape 6 elements (shape 2x3) "
      .. "into 4)", function() m:reshape(4) end},
    {"bad argument #2 to 'reshape' (more than one size to infer)",
      function() gd.reshape(m, -1, -1) end},
    {"bad argument #1 to 'sum' (dimension 3 out of range for a 2x3 tensor)",
      function() m:sum(3) end},
    {"bad argument #2 to 'sum' (boolean expected, got number)",
      function() m:sum(1, 1) end},
    {"bad argument #2 to 'transpose' (dimension 0 out of range for a 2x3 "
      .. "tensor)", function() gd.transpose(m, 0, 1) end},
    {"bad argument #2 to 'permute' (1 dimensions given for a 2x3 tensor)",
      function() gd.permute(m, 1) end},
    {"bad argument #3 to 'permute' (dimension 1 appears twice)",
      function() gd.permute(m, 1, 1) end},
    {"bad argument #3 to 'narrow' (start 3 and length 2 out of range for "
      .. "dimension 2 of size 3)", function() gd.narrow(m, 2, 3, 2) end},
    {"bad argument #3 to 'select' (index 0 out of range for dimension 1 of "
      .. "size 2)", function() gd.select(m, 1, 0) end},
    {"bad argument #2 to 'expand' (shape 2x3 cannot be broadcast to 4x3)",
      function() gd.expand(m, 4, 3) end},
    {"bad argument #2 to 'squeeze' (dimension 1 has size 2, not 1)",
      function() gd.squeeze(m, 1) end},
    {"bad argument #2 to 'unsqueeze' (dimension 4 out of range for a 2x3 "
      .. "tensor)", function() gd.unsqueeze(m, 4) end},
    {"bad argument #1 to 'fill' (the tensor is a broadcast view and "
      .. "refuses writes)", function() gd.fill(gd.ones(1):expand(3), 0) end},
    {"bad argument #2 to 'copy' (shape 3 cannot be broadcast to 2x3x1)",
      function() gd.copy(gd.zeros(2, 3, 1), {1, 2, 3}) end},
    {"bad argument #1 to 'max' (cannot reduce over no elements (shape 0))",
      function() gd.max(gd.zeros(0)) end},
    {"bad argument #1 to 'set_printoptions' (option 'precision' must be an "
      .. "integer from 0 to 2147483647)",
      function() gd.set_printoptions{precision = -1} end},
  }
  for _, case in ipairs(cases) do
    it("says " .. case[1], function()
      assert.equal(case[1], message(case[2]))
    end)
  end
end)
