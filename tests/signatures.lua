-- Every function and method that gdnn makes visible to Lua, with the
-- kinds of its parameters, in one list. tests/badinput_spec.lua derives
-- its cases from it, and fails when the module or a class has a
-- function that is missing here.
--
-- Kinds: "tensor" a tensor, a number or a nested table; "tensor!" a
-- tensor userdata only; "int" an integer; "num" a number; "str" a
-- string; "fn" a function; "opts" a table of options; "jac" a
-- TensorJacobian; "any" anything.
-- A trailing "?" marks an optional parameter. `valid` builds one good
-- list of arguments (after self, for methods).

local gd = require "gdnn"

local M = {}

local function m23() return gd.randn(2, 3) end
local function v3() return gd.randn(3) end

local function binary(name)
  return {name, {"tensor", "tensor", "tensor!?"},
          function() return {m23(), m23()} end}
end

local function unary(name)
  return {name, {"tensor!", "tensor!?"}, function() return {m23()} end}
end

local function reduction(name)
  return {name, {"tensor!", "int?", "any?", "tensor!?"},
          function() return {m23(), 2} end}
end

-- Module functions: gd.<name>(...).
M.functions = {
  {"tensor", {"tensor"}, function() return {{1, 2}} end},
  {"Tensor", {"tensor"}, function() return {{1, 2}} end},
  {"zeros", {"int?"}, function() return {2, 3} end},
  {"ones", {"int?"}, function() return {2, 3} end},
  {"full", {"any", "num"}, function() return {{2, 3}, 1.5} end},
  {"eye", {"int", "int?"}, function() return {3} end},
  {"arange", {"num", "num?", "num?"}, function() return {0, 5} end},
  {"linspace", {"num", "num", "int"}, function() return {0, 1, 5} end},
  {"rand", {"int?"}, function() return {2, 3} end},
  {"randn", {"int?"}, function() return {2, 3} end},
  {"istensor", {"any"}, function() return {1} end},
  {"axpby", {"num", "tensor!", "num", "tensor!", "tensor!"},
   function() return {2, m23(), 3, m23(), m23()} end},
  {"set_printoptions", {"opts"}, function() return {{precision = 4}} end},
  {"seed", {"int"}, function() return {1} end},
  {"_fail_allocations", {"int?"}, function() return {} end},
  {"_interrupt", {}, function() return {} end},
  {"_interrupt_pending", {"any?"}, function() return {} end},
  {"einsum", {"str", "tensor"}, function() return {"ij->ji", m23()} end},
  {"einsum_into", {"tensor!", "str", "tensor"},
   function() return {gd.zeros(3, 2), "ij->ji", m23()} end},
  {"einsum_path", {"str", "tensor"}, function() return {"ij->ji", m23()} end},
  {"einsum_cache_stats", {}, function() return {} end},
  {"einsum_cache_clear", {}, function() return {} end},
  {"GradientDescent", {"tensor"}, function() return {{1, 2}} end},
  {"gradient_descent_step", {"tensor!", "tensor", "opts?"},
   function() return {gd.GradientDescent{1, 2}, {1, 1}} end},
  {"gradient_descent_from_function", {"fn", "fn?", "opts"},
   function()
     return {function(x) return (x * x):sum() end, nil,
             {x0 = {1}, max_iterations = 2}}
   end},
  {"TensorJacobian", {"tensor", "any", "any", "str?"},
   function() return {gd.randn(2, 3), {2}, {3}} end},
  {"chain", {"jac"},
   function()
     return {gd.TensorJacobian(gd.randn(2, 3), {2}, {3}),
             gd.TensorJacobian(gd.randn(3, 4), {3}, {4})}
   end},
  {"Network", {"opts"}, function() return {{layer_node_nums = {2, 1}}} end},
  {"save", {"str", "any"}, function() return {os.tmpname(), m23()} end},
  {"load", {"str"}, function() return {"tests/data/npy/f8_2x3.npy"} end},
  {"save_npy", {"str", "tensor"}, function() return {os.tmpname(), v3()} end},
  {"load_npy", {"str"}, function() return {"tests/data/npy/f8_2x3.npy"} end},
  {"loss.mse", {"tensor", "tensor"}, function() return {m23(), m23()} end},
  {"loss.mse_jacobian", {"tensor", "tensor"},
   function() return {m23(), m23()} end},
  {"loss.mse_hessian", {"tensor", "tensor"},
   function() return {m23(), m23()} end},
  {"ActivationFunctions.register", {"str", "fn", "fn", "fn?"},
   function()
     return {"sq", function(z) return z * z end, function(z) return 2 * z end}
   end},
  -- the tensor methods, also module functions
  {"totable", {"tensor!"}, function() return {m23()} end},
  {"shape", {"tensor!"}, function() return {m23()} end},
  {"size", {"tensor!", "int?"}, function() return {m23(), 1} end},
  {"dim", {"tensor!"}, function() return {m23()} end},
  {"numel", {"tensor!"}, function() return {m23()} end},
  {"strides", {"tensor!"}, function() return {m23()} end},
  {"is_contiguous", {"tensor!"}, function() return {m23()} end},
  {"reshape", {"tensor!", "int"}, function() return {m23(), 3, 2} end},
  {"view", {"tensor!", "int"}, function() return {m23(), 6} end},
  {"transpose", {"tensor!", "int", "int"}, function() return {m23(), 1, 2} end},
  {"permute", {"tensor!", "int"}, function() return {m23(), 2, 1} end},
  {"narrow", {"tensor!", "int", "int", "int"},
   function() return {m23(), 2, 1, 2} end},
  {"select", {"tensor!", "int", "int"}, function() return {m23(), 1, 2} end},
  {"expand", {"tensor!", "int"}, function() return {v3(), 2, 3} end},
  {"squeeze", {"tensor!", "int?"}, function() return {gd.zeros(1, 3)} end},
  {"unsqueeze", {"tensor!", "int"}, function() return {m23(), 1} end},
  {"contiguous", {"tensor!"}, function() return {m23()} end},
  {"clone", {"tensor!"}, function() return {m23()} end},
  {"copy", {"tensor!", "tensor"}, function() return {m23(), m23()} end},
  {"fill", {"tensor!", "num"}, function() return {m23(), 1} end},
  {"format", {"tensor!", "opts?"}, function() return {m23()} end},
  binary("add"), binary("sub"), binary("mul"), binary("div"),
  binary("pow"), binary("maximum"), binary("minimum"), binary("eq"),
  binary("ne"), binary("lt"), binary("le"), binary("gt"), binary("ge"),
  binary("atan2"),
  unary("neg"), unary("abs"), unary("exp"), unary("log"), unary("sqrt"),
  unary("sin"), unary("cos"), unary("tan"), unary("asin"), unary("acos"),
  unary("atan"), unary("sinh"), unary("cosh"), unary("tanh"),
  unary("sigmoid"), unary("relu"), unary("sign"), unary("floor"),
  unary("ceil"), unary("round"), unary("square"), unary("reciprocal"),
  unary("log1p"), unary("expm1"),
  reduction("sum"), reduction("mean"), reduction("prod"), reduction("max"),
  reduction("min"), reduction("argmax"), reduction("argmin"),
  reduction("norm"),
  {"matmul", {"tensor", "tensor", "tensor!?"},
   function() return {m23(), gd.randn(3, 2)} end},
}

-- Methods of the classes that add their own: obj:<name>(...), with
-- `self` made by `new`.
M.methods = {
  {"gdnn.GradientDescent", "step", {"tensor", "opts?"},
   function() return gd.GradientDescent{1, 2} end,
   function() return {{1, 1}} end},
  {"gdnn.TensorJacobian", "dense", {},
   function() return gd.TensorJacobian(gd.randn(2, 3), {2}, {3}) end,
   function() return {} end},
  {"gdnn.TensorJacobian", "transpose", {},
   function() return gd.TensorJacobian(gd.randn(2, 3), {2}, {3}) end,
   function() return {} end},
  {"gdnn.TensorJacobian", "regroup", {"int"},
   function() return gd.TensorJacobian(gd.randn(2, 3, 4), {2, 3}, {4}) end,
   function() return {1} end},
  {"gdnn.Network", "forward", {"tensor"},
   function() return gd.Network{layer_node_nums = {2, 1}} end,
   function() return {gd.randn(2, 4)} end},
  {"gdnn.Network", "backward", {"tensor", "tensor"},
   function() return gd.Network{layer_node_nums = {2, 1}} end,
   function() return {gd.randn(2, 4), gd.randn(1, 4)} end},
  {"gdnn.Network", "hessian", {"tensor", "tensor", "int"},
   function() return gd.Network{layer_node_nums = {2, 1}} end,
   function() return {gd.randn(2, 4), gd.randn(1, 4), 1} end},
  {"gdnn.Network", "hvp", {"tensor", "tensor", "int", "tensor"},
   function() return gd.Network{layer_node_nums = {2, 1}} end,
   function()
     return {gd.randn(2, 4), gd.randn(1, 4), 1, gd.randn(1, 2)}
   end},
  {"gdnn.Network", "train", {"tensor", "tensor", "opts?"},
   function() return gd.Network{layer_node_nums = {2, 1}} end,
   function() return {gd.randn(2, 4), gd.randn(1, 4), {iterations = 2}} end},
  {"gdnn.Network", "save", {"str"},
   function() return gd.Network{layer_node_nums = {2, 1}} end,
   function() return {os.tmpname()} end},
}

-- The value of a dotted name under gd ("loss.mse").
function M.lookup(name)
  local v = gd
  for part in name:gmatch("[^.]+") do v = v[part] end
  return v
end

return M
