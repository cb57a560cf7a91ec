-- gdnn.help: a one-paragraph description and an example for every
-- public function and type of gdnn, for help(x) and ?x in gdnn-lua
-- and for the API reference docs/api.md (tools/make-api-doc).
--
--   local help = require "gdnn.help"
--   help.help(gd.einsum)         -- prints the text of gd.einsum
--   help.help("Tensor:reshape")  -- by name
--   help.text("gdnn.zeros")      -- the text as a string
--
-- Names are written "gdnn.f" for module functions, "Tensor:m" for
-- methods and "gdnn.datasets.f" for the Lua modules. A Tensor method
-- that is also a module function shares that function's text.
--
-- Limits: objects made by the Lua modules (plot figures, progress
-- bars) are described with the function that makes them.

local M = {}

local entries = {}   -- name -> {sig = ..., text = ..., example = ...}


-- Record the entry name with its call form, paragraph and example.
local function doc(name, sig, text, example)
  entries[name] = {sig = sig, text = text, example = example}
end


doc("gdnn", 'gd = require "gdnn"',
  "The gdnn module: float64 tensors with NumPy broadcasting, a "
  .. "NumPy-compatible einsum on OpenBLAS, the GradientDescent "
  .. "optimiser, TensorJacobian, activation functions, the mean "
  .. "squared error and a multilayer perceptron. Indices and "
  .. "dimensions count from 1. In gdnn-lua's REPL the module is the "
  .. "global gd; help(x) or ?x describes any of its names.",
  'gd = require "gdnn"\nprint(gd.ones(2, 3) * 2)')

doc("Tensor", "gdnn.Tensor",
  "An n-d array of float64 numbers: a view (shape, strides, offset) "
  .. "over storage shared with other views, so reshape, transpose, "
  .. "narrow and select never copy. Arithmetic operators broadcast as "
  .. "NumPy does; t[i] reads or writes along the first dimension; #t "
  .. "is the size of the first dimension; tostring prints it as NumPy "
  .. "would. A tensor is released by the garbage collector or by a "
  .. "to-be-closed variable.",
  "local t <close> = gd.tensor{{1, 2}, {3, 4}}\nprint(t * 10 + 1, #t, t[2][1])")

-- ---- creation -------------------------------------------------------

doc("gdnn.tensor", "gd.tensor(x)",
  "A new tensor holding a copy of x: a nested table of numbers (its "
  .. "nesting gives the shape), a number (a 0-d tensor) or a tensor. "
  .. "gd.Tensor is the same function.",
  "gd.tensor{{1, 2, 3}, {4, 5, 6}}:shape()   --> {2, 3}")
entries["gdnn.Tensor"] = entries["gdnn.tensor"]
doc("gdnn.zeros", "gd.zeros(d1, d2, ...) or gd.zeros{d1, d2, ...}",
  "A new contiguous tensor of the given shape filled with zeros; no "
  .. "sizes give a 0-d tensor.",
  "gd.zeros(2, 3)")
doc("gdnn.ones", "gd.ones(d1, d2, ...) or gd.ones{d1, d2, ...}",
  "A new contiguous tensor of the given shape filled with ones.",
  "gd.ones{3}:sum()   --> 3")
doc("gdnn.full", "gd.full(d1, ..., v) or gd.full({d1, ...}, v)",
  "A new tensor of the given shape with every element v; the value "
  .. "comes last.",
  "gd.full(2, 2, 7)")
doc("gdnn.eye", "gd.eye(n [, m])",
  "The n x m matrix (n x n without m) with ones on the main diagonal "
  .. "and zeros elsewhere.",
  "gd.matmul(gd.eye(3), gd.ones(3))   --> [1 1 1]")
doc("gdnn.arange", "gd.arange(stop) or gd.arange(start, stop [, step])",
  "The 1-d tensor start, start + step, ... up to but excluding stop, "
  .. "as numpy.arange; start defaults to 0 and step to 1.",
  "gd.arange(0, 1, 0.25)   --> [0 0.25 0.5 0.75]")
doc("gdnn.linspace", "gd.linspace(a, b [, n])",
  "n evenly spaced numbers from a to b, both included (n defaults to "
  .. "50), as numpy.linspace.",
  "gd.linspace(0, 1, 5)")
doc("gdnn.rand", "gd.rand(d1, d2, ...)",
  "A new tensor of uniform samples in [0, 1) from the module's "
  .. "generator, which gd.seed restarts; the same seed gives the same "
  .. "numbers on every machine.",
  "gd.seed(1)\nlocal u = gd.rand(2, 2)")
doc("gdnn.randn", "gd.randn(d1, d2, ...)",
  "A new tensor of standard normal samples from the module's "
  .. "generator (see gd.seed).",
  "gd.seed(1)\nlocal z = gd.randn(1000)\nprint(z:mean(), z:norm())")
doc("gdnn.seed", "gd.seed(n)",
  "Restart the module's random generator at the stream of the integer "
  .. "n; gd.rand, gd.randn and new networks without a seed draw from "
  .. "it.",
  "gd.seed(42)\nprint(gd.rand(1)[1])")
doc("gdnn.istensor", "gd.istensor(x)",
  "True when x is a tensor of any kind (a Tensor, a GradientDescent, a "
  .. "TensorJacobian), false otherwise.",
  "gd.istensor(gd.zeros(1)), gd.istensor({})   --> true, false")
doc("gdnn.set_printoptions",
  "gd.set_printoptions{precision =, threshold =, edgeitems =, "
  .. "linewidth =}",
  "Change how tostring prints tensors: digits after the point "
  .. "(precision, 4), the element count above which the middle is "
  .. "summarised (threshold, 1000), the items kept at each edge then "
  .. "(edgeitems, 3) and the line width (linewidth, 80).",
  "gd.set_printoptions{precision = 2}\nprint(gd.linspace(0, 1, 3))")
doc("gdnn.format", "gd.format(t [, options]) or t:format(options)",
  "The text tostring gives for t, with some of the options of "
  .. "gd.set_printoptions changed for this call only.",
  "print(gd.ones(3):format{precision = 1})")

-- ---- facts and views ------------------------------------------------

doc("gdnn.shape", "gd.shape(t) or t:shape()",
  "The sizes of t's dimensions as a new table ({} for a 0-d tensor).",
  "gd.zeros(2, 3):shape()   --> {2, 3}")
doc("gdnn.size", "t:size([k])",
  "The size of dimension k (negative k counts from the end); without "
  .. "k the same as t:shape().",
  "gd.zeros(2, 3):size(-1)   --> 3")
doc("gdnn.dim", "t:dim()",
  "The number of dimensions of t (0 for a scalar tensor).",
  "gd.zeros(2, 3):dim()   --> 2")
doc("gdnn.numel", "t:numel()",
  "The number of elements of t, the product of its sizes.",
  "gd.zeros(2, 3):numel()   --> 6")
doc("gdnn.strides", "t:strides()",
  "The strides of t in elements, as a table; a broadcast dimension "
  .. "has stride 0.",
  "gd.zeros(2, 3):strides()   --> {3, 1}")
doc("gdnn.is_contiguous", "t:is_contiguous()",
  "True when t's elements lie in row-major order without gaps, so "
  .. "that t can be reshaped without a copy.",
  "gd.zeros(2, 3):transpose():is_contiguous()   --> false")
doc("gdnn.reshape", "t:reshape(d1, ...) or t:reshape{d1, ...}",
  "A tensor with t's elements in a new shape; one size may be -1 to be "
  .. "inferred. A view when the strides allow it, a copy otherwise.",
  "gd.arange(6):reshape(2, -1)")
doc("gdnn.view", "t:view(d1, ...) or t:view{d1, ...}",
  "As t:reshape, but always a view of the same storage: a layout the "
  .. "strides cannot express is an error instead of a copy.",
  "local v = gd.zeros(6):view(2, 3)")
doc("gdnn.transpose", "t:transpose([d1, d2])",
  "A view with dimensions d1 and d2 swapped; without them, with every "
  .. "dimension reversed (the matrix transpose for 2-d).",
  "gd.zeros(2, 3):transpose():shape()   --> {3, 2}")
doc("gdnn.permute", "t:permute(p1, ..., pn) or t:permute{p1, ...}",
  "A view whose dimension i is dimension p_i of t.",
  "gd.zeros(2, 3, 4):permute(3, 1, 2):shape()   --> {4, 2, 3}")
doc("gdnn.narrow", "t:narrow(dim, start, len)",
  "A view of elements start .. start + len - 1 of dimension dim; "
  .. "writes into it change t.",
  "local t = gd.zeros(5)\nt:narrow(1, 2, 3):fill(1)   -- t is [0 1 1 1 0]")
doc("gdnn.select", "t:select(dim, i)",
  "A view of index i of dimension dim, which disappears from the "
  .. "shape.",
  "gd.eye(3):select(2, 1)   --> [1 0 0]")
doc("gdnn.expand", "t:expand(d1, ...) or t:expand{d1, ...}",
  "A broadcast view of t in a larger shape, as numpy.broadcast_to: new "
  .. "leading dimensions and size-1 dimensions repeat with stride 0. "
  .. "It refuses writes.",
  "gd.tensor{1, 2}:expand(3, 2)")
doc("gdnn.squeeze", "t:squeeze([dim])",
  "A view without dimension dim, which must have size 1; without dim, "
  .. "without every dimension of size 1.",
  "gd.zeros(1, 3, 1):squeeze():shape()   --> {3}")
doc("gdnn.unsqueeze", "t:unsqueeze(dim)",
  "A view with a new dimension of size 1 at position dim.",
  "gd.zeros(3):unsqueeze(1):shape()   --> {1, 3}")
doc("gdnn.contiguous", "t:contiguous()",
  "t itself when it is contiguous, otherwise a contiguous copy.",
  "local c = gd.zeros(2, 3):transpose():contiguous()")
doc("gdnn.clone", "t:clone()",
  "A new contiguous copy of t that shares nothing with it.",
  "local a = gd.ones(2)\nlocal b = a:clone()\nb:fill(0)   -- a is still ones")
doc("gdnn.copy", "t:copy(src)",
  "Write src, broadcast to t's shape, into t's elements; returns t.",
  "gd.zeros(2, 2):copy(gd.tensor{1, 2})")
doc("gdnn.fill", "t:fill(v)",
  "Set every element of t to the number v; returns t.",
  "gd.zeros(3):fill(0.5)")
doc("gdnn.totable", "t:totable()",
  "The elements of t as nested Lua tables (a number for a 0-d tensor).",
  "gd.eye(2):totable()   --> {{1, 0}, {0, 1}}")

-- ---- arithmetic -----------------------------------------------------

local binary = {
  add = {"a + b", "the sum"}, sub = {"a - b", "the difference"},
  mul = {"a * b", "the element-wise product"},
  div = {"a / b", "the quotient"}, pow = {"a ^ b", "the power"},
  maximum = {nil, "the larger of each pair"},
  minimum = {nil, "the smaller of each pair"},
  eq = {nil, "1 where a == b and 0 elsewhere"},
  ne = {nil, "1 where a ~= b and 0 elsewhere"},
  lt = {nil, "1 where a < b and 0 elsewhere"},
  le = {nil, "1 where a <= b and 0 elsewhere"},
  gt = {nil, "1 where a > b and 0 elsewhere"},
  ge = {nil, "1 where a >= b and 0 elsewhere"},
  atan2 = {nil, "the angle atan2(a, b) in radians"},
}
for name, d in pairs(binary) do
  doc("gdnn." .. name, "gd." .. name .. "(a, b [, out]) or a:" .. name
      .. "(b [, out])",
    "A new tensor holding " .. d[2] .. " of a and b element by "
    .. "element, broadcasting them as NumPy does; either may be a "
    .. "number or a nested table. With out, the result is written "
    .. "into out (which may be a or b) and out is returned"
    .. (d[1] and "; the operator form is " .. d[1] or "") .. ".",
    "gd." .. name .. "(gd.tensor{{1}, {2}}, gd.tensor{1, 2, 3})")
end

local unary = {
  neg = "-x", abs = "|x|", exp = "e^x", log = "the natural logarithm",
  sqrt = "the square root", sin = "sin x", cos = "cos x", tan = "tan x",
  asin = "arcsin x", acos = "arccos x", atan = "arctan x",
  sinh = "sinh x", cosh = "cosh x", tanh = "tanh x",
  sigmoid = "the logistic function 1 / (1 + e^-x)",
  relu = "max(x, 0)", sign = "-1, 0 or 1 by the sign of x",
  floor = "the largest integer <= x", ceil = "the smallest integer >= x",
  round = "x rounded to the nearest integer, halves away from zero",
  square = "x^2", reciprocal = "1 / x", log1p = "log(1 + x), exact near 0",
  expm1 = "e^x - 1, exact near 0",
}
for name, what in pairs(unary) do
  doc("gdnn." .. name, "gd." .. name .. "(t [, out]) or t:" .. name
      .. "([out])",
    "A new tensor of t's shape holding " .. what .. " for each element "
    .. "x of t (a tensor, nested table or number). With out, of t's "
    .. "shape and possibly t itself, the result is written there.",
    "gd." .. name .. "(gd.linspace(-1, 1, 5))")
end

local reductions = {
  sum = "the sum", mean = "the mean", prod = "the product",
  max = "the largest element", min = "the smallest element",
  argmax = "the 1-based index of the largest element",
  argmin = "the 1-based index of the smallest element",
  norm = "the Euclidean norm",
}
for name, what in pairs(reductions) do
  doc("gdnn." .. name, "gd." .. name .. "(t [, dim [, keepdim [, out]]])"
      .. " or t:" .. name .. "([dim ...])",
    "Without dim, " .. what .. " of all of t's elements as a number "
    .. "(a tensor with keepdim or out); with dim, a tensor of " .. what
    .. " along dimension dim, which is dropped unless keepdim is true.",
    "local t = gd.tensor{{1, 5}, {3, 2}}\nprint(t:" .. name
    .. "(), t:" .. name .. "(2))")
end

doc("gdnn.axpby", "gd.axpby(alpha, a, beta, b, out)",
  "Write alpha * a + beta * b into out in place and return it, without "
  .. "allocating: the update step of a hand-written training loop (out "
  .. "may be a or b).",
  "local w, g = gd.ones(3), gd.full(3, 0.5)\ngd.axpby(1, w, -0.1, g, w)")
doc("gdnn.matmul", "gd.matmul(a, b [, out]) or a:matmul(b)",
  "The matrix product through OpenBLAS, as numpy.matmul for 1-d and "
  .. "2-d operands: matrix @ matrix, matrix @ vector, vector @ matrix "
  .. "and vector @ vector (a 0-d result). With out, written into out.",
  "gd.matmul(gd.eye(2) * 3, gd.tensor{1, 2})   --> [3 6]")

-- ---- einsum ---------------------------------------------------------

doc("gdnn.einsum", "gd.einsum(subscripts, t1, t2, ...)",
  "Einstein summation as numpy.einsum computes it: subscripts such as "
  .. "'ij,jk->ik' name each operand's dimensions; repeated letters are "
  .. "multiplied and summed over, '...' broadcasts, and without '->' "
  .. "the output holds the letters that appear once, in alphabetical "
  .. "order. The contraction order is planned once and cached.",
  "local a, b = gd.rand(2, 3), gd.rand(3, 4)\n"
  .. "print(gd.einsum('ij,jk->ik', a, b))")
doc("gdnn.einsum_into", "gd.einsum_into(out, subscripts, t1, ...)",
  "As gd.einsum, overwriting out, which must have the result's shape; "
  .. "once the plan is cached this allocates nothing.",
  "local out = gd.zeros(2)\n"
  .. "gd.einsum_into(out, 'ij,j->i', gd.eye(2), gd.ones(2))")
doc("gdnn.einsum_path", "gd.einsum_path(subscripts, t1, ...)",
  "The pairwise contraction order gd.einsum would use, as a list of "
  .. "1-based operand pairs like numpy.einsum_path, and a report text "
  .. "with the estimated cost.",
  "local path, report = gd.einsum_path('ij,jk,kl->il',\n"
  .. "  gd.rand(2, 9), gd.rand(9, 9), gd.rand(9, 2))\nprint(report)")
doc("gdnn.einsum_cache_stats", "gd.einsum_cache_stats()",
  "Two counts: einsum calls that found their plan cached, and calls "
  .. "that had to plan.",
  "local hits, misses = gd.einsum_cache_stats()")
doc("gdnn.einsum_cache_clear", "gd.einsum_cache_clear()",
  "Drop every cached einsum plan and its work memory.",
  "gd.einsum_cache_clear()")

-- ---- optimiser ------------------------------------------------------

doc("gdnn.GradientDescent", "gd.GradientDescent(x0)",
  "An optimiser that is also a tensor: a copy of x0 (tensor, table or "
  .. "number) that x:step(gradient, options) updates in place. It "
  .. "keeps its history in fields: gradient_current, "
  .. "gradient_previous, gradient_step, velocity, steps, and minima "
  .. "after gd.gradient_descent_from_function. Options: method ('gd' "
  .. "or 'adam'), learning_rate, momentum, nesterov, maximise, "
  .. "clip_norm, clip_value, noise_scale, beta1, beta2, epsilon.",
  "local x = gd.GradientDescent{3, -2}\nfor i = 1, 100 do\n"
  .. "  x:step(x * 2, {learning_rate = 0.1})   -- f = |x|^2\nend\n"
  .. "print(x)")
entries["GradientDescent"] = entries["gdnn.GradientDescent"]
doc("GradientDescent:step", "x:step(gradient [, options])",
  "One update of the GradientDescent x in place with gradient (of x's "
  .. "shape) under options (see GradientDescent); returns x. On any "
  .. "error x is left unchanged.",
  "local x = gd.GradientDescent{1}\nx:step({2}, {learning_rate = 0.5})"
  .. "   -- x is [0]")
doc("gdnn.gradient_descent_step",
  "gd.gradient_descent_step(x, gradient [, options])",
  "The function form of x:step for a GradientDescent x: one update in "
  .. "place; returns x.",
  "local x = gd.GradientDescent{1}\n"
  .. "gd.gradient_descent_step(x, {2}, {learning_rate = 0.5})")
doc("gdnn.gradient_descent_from_function",
  "gd.gradient_descent_from_function(f, gradient, options)",
  "Minimise f(x) (a number) from options.x0, or from random starts "
  .. "between options.lower and options.upper over options.restarts "
  .. "descents, with the analytic gradient(x) or central differences "
  .. "when gradient is nil. Returns the best GradientDescent, whose "
  .. "minima list every descent best first, and its value.",
  "local best, v = gd.gradient_descent_from_function(\n"
  .. "  function(x) return ((x - 3) ^ 2):sum() end, nil,\n"
  .. "  {x0 = {0}, learning_rate = 0.1})")

-- ---- Jacobians, activations, loss -----------------------------------

doc("gdnn.TensorJacobian",
  "gd.TensorJacobian(t, numerator_shape, denominator_shape)",
  "A generalised Jacobian: the derivative of a tensor A by a tensor B "
  .. "as a tensor of shape A ++ B that remembers where the numerator "
  .. "ends. It is a tensor too; J1 * J2 composes two Jacobians by "
  .. "contracting J1's denominator with J2's numerator.",
  "local J = gd.TensorJacobian(gd.eye(2), {2}, {2})\nprint(J * J)")
entries["TensorJacobian"] = entries["gdnn.TensorJacobian"]
doc("TensorJacobian:dense", "J:dense()",
  "The Jacobian's values as a plain tensor of shape numerator ++ "
  .. "denominator, materialising a diagonal Jacobian.",
  "gd.ActivationFunctions.sigmoid.df(gd.zeros(2)):dense()")
doc("TensorJacobian:regroup", "J:regroup(nnum)",
  "The same values with the split moved so that the numerator has "
  .. "nnum dimensions; nothing is copied.",
  "gd.TensorJacobian(gd.zeros(2, 3, 4), {2, 3}, {4}):regroup(1)")
doc("TensorJacobian:transpose", "J:transpose()",
  "The Jacobian with numerator and denominator swapped (dY/dX laid out "
  .. "from dX/dY), its structure kept: a diagonal stays diagonal.",
  "local J = gd.TensorJacobian(gd.zeros(2, 3), {2}, {3})\n"
  .. "print(J:transpose():shape())   --> {3, 2}")
doc("gdnn.chain", "gd.chain(J1, J2, ..., Jn)",
  "The product J1 * J2 * ... * Jn of a chain of TensorJacobians, "
  .. "computed as one contraction in the cheapest order instead of "
  .. "pair by pair from the left.",
  "local J = gd.TensorJacobian(gd.eye(2), {2}, {2})\n"
  .. "print(gd.chain(J, J, J):dense())")
doc("gdnn.ActivationFunctions", "gd.ActivationFunctions",
  "The registry of activation functions by name. Each entry has f(Z), "
  .. "df(Z) (dA/dZ as a TensorJacobian) and d2f(Z); networks name "
  .. "their activations from it, and register adds one written in Lua.",
  "local s = gd.ActivationFunctions.sigmoid\nprint(s.f(gd.zeros(2)))")
doc("gdnn.ActivationFunctions.register",
  "gd.ActivationFunctions.register(name, {f =, df =, d2f =})",
  "Add an activation written in Lua: f(Z) returns A, df(Z) its "
  .. "Jacobian dA/dZ and d2f(Z) (optional) the second derivative; the "
  .. "name can then be used in gd.Network's activations.",
  "gd.ActivationFunctions.register('square', {\n"
  .. "  f = function(z) return z * z end,\n"
  .. "  df = function(z)\n"
  .. "    return gd.TensorJacobian(gd.einsum('i,ij->ij', z * 2,\n"
  .. "      gd.eye(z:numel())), z:shape(), z:shape()) end})")
for name, what in pairs{
  identity = "A = Z", relu = "A = max(Z, 0)",
  sigmoid = "A = 1 / (1 + e^-Z)", tanh = "A = tanh Z",
  softmax = "A = e^Z / sum e^Z over each column",
} do
  doc("gdnn.ActivationFunctions." .. name,
    "gd.ActivationFunctions." .. name,
    "The built-in activation " .. what .. ", with f(Z), df(Z) (dA/dZ "
    .. "as a TensorJacobian) and d2f(Z) (d2A/dZ2).",
    "gd.ActivationFunctions." .. name .. ".f(gd.linspace(-1, 1, 3))")
end
doc("gdnn.loss", "gd.loss",
  "The loss functions: gd.loss.mse and its derivatives. Samples are "
  .. "the columns of Y and Yhat.",
  "gd.loss.mse(gd.ones(1, 4), gd.zeros(1, 4))   --> 0.5")
doc("gdnn.loss.mse", "gd.loss.mse(Y, Yhat)",
  "The mean squared error E = 1/(2m) sum over the m columns of "
  .. "|y_i - yhat_i|^2, as a number.",
  "gd.loss.mse(gd.ones(1, 4), gd.zeros(1, 4))   --> 0.5")
doc("gdnn.loss.mse_jacobian", "gd.loss.mse_jacobian(Y, Yhat)",
  "dE/dYhat = (Yhat - Y) / m as a TensorJacobian with an empty "
  .. "numerator and Yhat's shape as denominator.",
  "gd.loss.mse_jacobian(gd.ones(1, 2), gd.zeros(1, 2)):dense()")
doc("gdnn.loss.mse_hessian", "gd.loss.mse_hessian(Y, Yhat)",
  "d2E/dYhat2 = I / m as a diagonal TensorJacobian.",
  "gd.loss.mse_hessian(gd.ones(1, 2), gd.zeros(1, 2)):dense()")

-- ---- network --------------------------------------------------------

doc("gdnn.Network",
  "gd.Network{layer_node_nums = {n0, ..., nL}, activations =, seed =}",
  "A multilayer perceptron with layer widths layer_node_nums and one "
  .. "activation name per layer (default sigmoid); samples are "
  .. "columns. Fields weights and biases list the live parameters, "
  .. "layer_node_nums and activations describe it; methods forward, "
  .. "backward, train, hessian and save.",
  "local net = gd.Network{layer_node_nums = {1, 6, 1}, seed = 1}\n"
  .. "print(net:forward(gd.zeros(1, 3)))")
entries["Network"] = entries["gdnn.Network"]
doc("Network:forward", "net:forward(X)",
  "The network's output Yhat for the inputs X (n0 x m, one sample a "
  .. "column), as a new tensor.",
  "net:forward(gd.linspace(0, 1, 5):reshape(1, 5))")
doc("Network:backward", "net:backward(X, Y)",
  "Backpropagation by Jacobian composition: the gradients of the loss "
  .. "by every weight and bias (DEDWs and DEDbs, lists of tensors) and "
  .. "the loss itself.",
  "local DEDWs, DEDbs, E = net:backward(X, Y)")
doc("Network:train", "net:train(X, Y [, options])",
  "Train by gradient descent; return the loss of every iteration as a "
  .. "1-d tensor and the reason it ended: 'max_iterations', or "
  .. "'interrupted' when Ctrl-C (or gd._interrupt()) stopped it at the "
  .. "end of an iteration, the history then holding the iterations "
  .. "done and the network left whole. Options: iterations, method "
  .. "('gd' or 'adam'), learning_rate, momentum, nesterov, clip_norm, "
  .. "clip_value, noise settings, beta1, beta2, epsilon, batch_size, "
  .. "seed, progress_every with on_progress(iteration, loss), "
  .. "snapshot_every with on_snapshot(iteration, net); checkpoint = "
  .. "path saves the whole run (weights, optimiser state, shuffling, "
  .. "losses) atomically every checkpoint_every iterations and when it "
  .. "ends or is interrupted; resume = path continues such a run up to "
  .. "iterations in all, ending bit for bit as an uninterrupted run "
  .. "would. reduce = function(DEDWs, DEDbs, loss, iteration) is "
  .. "called after each backward and before the update with lists of "
  .. "views of the gradients, which it may change in place (the update "
  .. "uses them), and the batch loss, which a number it returns "
  .. "replaces; an error in it stops training with that error. "
  .. "distributed = true shares the samples among the ranks of gdnn.mpi "
  .. "(through such a reduce). A non-finite loss or gradient is an "
  .. "error naming the iteration and the layer.",
  "local losses, why = net:train(X, Y, {iterations = 2000,\n"
  .. "  method = 'adam', learning_rate = 0.05,\n"
  .. "  checkpoint = 'run.ckpt', checkpoint_every = 100})")
doc("Network:hessian", "net:hessian(X, Y, l)",
  "The second derivative of the loss by the weights of layer l, "
  .. "d2E/dW_l^2, as a TensorJacobian.",
  "local H = net:hessian(X, Y, 1):dense()")
doc("Network:hvp", "net:hvp(X, Y, l, V)",
  "The product of the Hessian of the loss by the weights of layer l "
  .. "with V, (d2E/dW_l^2) V, as a tensor of W_l's shape, without "
  .. "forming the Hessian.",
  "local HV = net:hvp(X, Y, 1, gd.ones(net.weights[1]:shape()))")
doc("Network:save", "net:save(path)",
  "Write the network (widths, activations, weights and biases) to "
  .. "path; true, or nil and a message. gd.load reads it back.",
  "assert(net:save('net.gdnn'))")

-- ---- files ----------------------------------------------------------

doc("gdnn.save", "gd.save(path, value)",
  "Write a tensor, a GradientDescent (with its history) or a network "
  .. "to path in gdnn's checksummed format; true, or nil and a "
  .. "message.",
  "assert(gd.save('w.gdnn', gd.ones(3)))")
doc("gdnn.load", "gd.load(path)",
  "Read what gd.save or net:save wrote: a tensor, a GradientDescent "
  .. "or a network; nil and a message for a missing or damaged file.",
  "local t = assert(gd.load('w.gdnn'))")
doc("gdnn.save_npy", "gd.save_npy(path, t)",
  "Write t as a NumPy .npy file of little-endian float64; true, or "
  .. "nil and a message.",
  "assert(gd.save_npy('t.npy', gd.eye(3)))")
doc("gdnn.load_npy", "gd.load_npy(path)",
  "Read a NumPy .npy file of any numeric dtype as a float64 tensor; "
  .. "nil and a message when it cannot.",
  "local t = assert(gd.load_npy('t.npy'))")

-- ---- Lua modules ----------------------------------------------------

doc("gdnn.datasets", 'require "gdnn.datasets"',
  "Data sets for the demos and scaling helpers: samples are columns.",
  'local datasets = require "gdnn.datasets"')
doc("gdnn.datasets.random", "datasets.random(seed)",
  "A random generator for data sets, separate from gd.seed's, with "
  .. "methods for uniform and normal numbers.",
  "local r = datasets.random(1)")
doc("gdnn.datasets.scale", "datasets.scale(v [, joint])",
  "The scaling that maps each row of v to [0, 1] (all rows together "
  .. "with joint), for rescale and unscale.",
  "local s = datasets.scale(Y)\nlocal Y01 = datasets.rescale(Y, s)")
doc("gdnn.datasets.rescale", "datasets.rescale(v, scale)",
  "v mapped into [0, 1] by a scaling from datasets.scale.",
  "local Y01 = datasets.rescale(Y, datasets.scale(Y))")
doc("gdnn.datasets.unscale", "datasets.unscale(v, scale)",
  "The inverse of datasets.rescale: v back in its original units.",
  "local Y = datasets.unscale(net:forward(X), s)")
doc("gdnn.datasets.sine", "datasets.sine(opts)",
  "Random samples of sin(x) on [0, 2 pi] as inputs X (1 x m) and "
  .. "targets Y; opts sets the count and the seed.",
  "local d = datasets.sine{samples = 40, seed = 1}")
doc("gdnn.datasets.helix", "datasets.helix(opts)",
  "Samples of a helix in 3-d, parameter t as input and the point as "
  .. "target, for a network with three outputs.",
  "local d = datasets.helix{samples = 100, seed = 1}")
doc("gdnn.datasets.load_csv", "datasets.load_csv(path [, opts])",
  "Read a CSV file of numbers as a tensor with one sample a column; "
  .. "nil and a message when it cannot.",
  "local d = assert(datasets.load_csv('data.csv'))")
doc("gdnn.plot", 'require "gdnn.plot"',
  "Plots drawn by gnuplot (plot.gnuplot names the program) into PNG "
  .. "files: figures of lines and points in the colours of "
  .. "plot.colors.",
  'local plot = require "gdnn.plot"')
doc("gdnn.plot.figure", "plot.figure(opts)",
  "A new figure (title, axes, output file) to add series to and draw "
  .. "with plot.render.",
  "local f = plot.figure{title = 'fit', output = 'out/fit.png'}")
doc("gdnn.plot.script", "plot.script(f)",
  "The gnuplot script that draws figure f, as a string.",
  "print(plot.script(f))")
doc("gdnn.plot.render", "plot.render(f)",
  "Draw figure f by running gnuplot; true, or nil and a message.",
  "assert(plot.render(f))")
doc("gdnn.plot.colors", "plot.colors",
  "The named colours figures use, as gnuplot colour strings.",
  "print(plot.colors.red)")
doc("gdnn.plot.gnuplot", "plot.gnuplot",
  "The gnuplot command plot.render runs (default 'gnuplot').",
  "plot.gnuplot = '/usr/bin/gnuplot'")
doc("gdnn.progress", 'require "gdnn.progress"',
  "Training progress as an updating bar on a terminal and as plain "
  .. "lines otherwise.",
  'local progress = require "gdnn.progress"')
doc("gdnn.progress.new", "progress.new{total =, label =, ...}",
  "A progress reporter: bar:update(iteration, loss) shows the "
  .. "iteration, the loss and the rate, bar:finish() ends the line.",
  "local bar = progress.new{total = 100, label = 'fit'}\n"
  .. "bar:update(50, 0.1)\nbar:finish()")
doc("gdnn.progress.isatty", "progress.isatty()",
  "True when standard output is a terminal.",
  "if progress.isatty() then print('terminal') end")
doc("gdnn.progress.clock", "progress.clock()",
  "The wall-clock time in seconds that progress rates use.",
  "local t0 = progress.clock()")
doc("gdnn.demo", 'require "gdnn.demo"',
  "What the demo scripts share: their command line, training with "
  .. "progress and snapshots, the RMS error, the loss plot and the "
  .. "report. A script describes its demo in a table (name, usage, "
  .. "defaults, outputs, layers_rule, dataset, draw).",
  'local demo = require "gdnn.demo"')
doc("gdnn.demo.parse", "demo.parse(spec, argv)",
  "The options of a demo's command line argv, starting from "
  .. "spec.defaults; nil for --help, an error 'name: ... (see --help)' "
  .. "for a bad option.",
  "local o = demo.parse(spec, {'--iterations', '500'})")
doc("gdnn.demo.run", "demo.run(spec, argv)",
  "Run a demo: train a sigmoid network on spec.dataset, print progress, "
  .. "the final loss and the RMS error, draw spec.draw's plot and the "
  .. "loss; returns {rms =, loss =, files =}.",
  "local result = demo.run(spec, {...})")


-- Wrap text into lines of at most width columns after indent.
local function wrap(text, indent, width)
  local lines, line = {}, indent
  for word in text:gmatch("%S+") do
    if #line + #word + 1 > width and line ~= indent then
      lines[#lines + 1] = line
      line = indent
    end
    line = line == indent and line .. word or line .. " " .. word
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end


-- The canonical name of a written name: "gd.f" and "f" become
-- "gdnn.f", "t:m" and "x:m" become "Tensor:m" (or a class method).
local function canonical(name)
  if entries[name] then return name end
  local short = name:match("^gd%.(.+)$") or name:match("^gdnn%.(.+)$")
  if short and entries["gdnn." .. short] then return "gdnn." .. short end
  if entries["gdnn." .. name] then return "gdnn." .. name end
  local m = name:match("^[%w_]+:([%w_]+)$")
  if m then
    for _, class in ipairs{"Tensor", "GradientDescent", "TensorJacobian",
                           "Network"} do
      if entries[class .. ":" .. m] then return class .. ":" .. m end
    end
    if entries["gdnn." .. m] then return "gdnn." .. m end
  end
  return nil
end


-- The entry of a Tensor method: its own, or the module function's.
local function find(name)
  local key = canonical(name)
  return key and entries[key], key
end


-- Names of the values reachable from the module and the Lua modules,
-- built on first use: value -> name.
local by_value


local function index_values()
  by_value = {}
  local ok, gd = pcall(require, "gdnn")
  if ok then
    for k, v in pairs(gd) do
      if type(v) == "function" then by_value[v] = "gdnn." .. k end
    end
    by_value[gd] = "gdnn"
    for _, sub in ipairs{"loss", "ActivationFunctions"} do
      if type(gd[sub]) == "table" then
        by_value[gd[sub]] = "gdnn." .. sub
        for k, v in pairs(gd[sub]) do
          by_value[v] = "gdnn." .. sub .. "." .. k
        end
      end
    end
  end
  for _, mod in ipairs{"datasets", "plot", "progress", "demo"} do
    local okm, t = pcall(require, "gdnn." .. mod)
    if okm and type(t) == "table" then
      by_value[t] = "gdnn." .. mod
      for k, v in pairs(t) do
        if type(v) == "function" then
          by_value[v] = "gdnn." .. mod .. "." .. k
        end
      end
    end
  end
end


-- The canonical name for x: a name (string) or a gdnn value.
function M.lookup(x)
  if type(x) == "string" then
    local key = canonical(x)
    if key then return key end
    local chunk = load("return " .. x, "=help", "t")
    local ok, v = pcall(chunk or error)
    if not ok or v == nil then return nil end
    x = v
  end
  if not by_value then index_values() end
  if by_value[x] then return canonical(by_value[x]) end
  local mt = getmetatable(x)
  local tname = type(mt) == "table" and rawget(mt, "__name")
  if type(tname) == "string" then
    return canonical(tname:gsub("^gdnn%.", ""))
  end
  return nil
end


-- The full text of an entry: call form, paragraph, example.
local function format(e)
  local ex = e.example:gsub("\n", "\n    ")
  return e.sig .. "\n" .. wrap(e.text, "  ", 72) .. "\n  Example:\n    "
    .. ex
end


-- The help text for x (a name or a value), or nil when there is none.
function M.text(x)
  local key = M.lookup(x)
  local e = key and find(key)
  return e and format(e) or nil
end


-- Every documented name, sorted.
function M.names()
  local list = {}
  for k in pairs(entries) do list[#list + 1] = k end
  table.sort(list)
  return list
end


-- The text of a Tensor method, whether it has an entry of its own or
-- shares the module function's.
function M.method_text(class, m)
  local e = entries[class .. ":" .. m]
    or (class == "Tensor" and entries["gdnn." .. m])
  return e and format(e) or nil
end


-- Print the help of x; without x, how to ask for help and the names.
function M.help(x, out)
  out = out or io.stdout
  if x == nil then
    out:write("help(x) or ?x describes a gdnn function or type, e.g. "
      .. "?gd.einsum or ?t:reshape.\nNames: ",
      wrap(table.concat(M.names(), " "), "", 72):gsub("\n", "\n  "),
      "\n")
    return
  end
  local text = M.text(x)
  if text then
    out:write(text, "\n")
  else
    out:write("no help for ", tostring(x), "\n")
  end
end


return M
