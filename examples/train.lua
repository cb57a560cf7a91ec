-- train.lua: the training script of examples/host.c. The host calls
-- the function this chunk returns with its data set, two tensors over
-- its own memory (inputs 1 x m and targets 1 x m, samples as
-- columns), and reads back the tensors of the table it returns.
--
-- It can also run alone, on its own samples of sin:
--   gdnn-lua examples/train.lua

local gd = require "gdnn"


-- Train a 1-8-1 sigmoid network on x, y; return the trained weights
-- and biases, layer by layer, and the final loss.
local function train(x, y, iterations)
  local net = gd.Network{layer_node_nums = {1, 8, 1}, seed = 3}
  local losses = net:train(x, y, {
    iterations = iterations or 3000, method = "adam",
    learning_rate = 0.05,
  })
  local out = {loss = losses[losses:numel()]}
  for l = 1, #net.weights do
    out[#out + 1] = net.weights[l]
    out[#out + 1] = net.biases[l]
  end
  return out
end


if arg and arg[0] then
  local x = gd.linspace(0, 1, 40):reshape(1, 40)
  local y = (x * (2 * math.pi)):sin() * 0.4 + 0.5
  local w = train(x, y)
  print(string.format("loss %.6g", w.loss))
end

return train
