-- demo.lua: the two demos in a row, as the first thing to run.
--
-- Trains a {1, 6, 1} network on samples of sin(x) and a {1, 10, 2}
-- network on the spiral [t cos t, t sin t], prints both progress logs
-- and writes the four plots (sine.png, sine_loss.png, helix.png,
-- helix_loss.png) into the output folder. The arguments (for example
-- --out DIR, --seed N, --iterations N, --quiet) go to both scripts.
--
-- Run from the source tree:  ./gdnn-lua scripts/demo.lua [--out DIR]
-- Over MPI:  mpirun -np 2 ./gdnn-lua scripts/demo.lua --distributed

local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local argv = {...}

for _, a in ipairs(argv) do
  if a == "--help" or a == "-h" then
    print("usage: gdnn-lua scripts/demo.lua [options]\n" ..
          "  runs scripts/sine.lua and scripts/helix.lua with the " ..
          "same options;\n  see their --help")
    return nil
  end
end

local results = {}
for _, name in ipairs{"sine", "helix"} do
  local chunk, err = loadfile(dir .. "/" .. name .. ".lua")
  if not chunk then error("demo: " .. err, 0) end
  results[name] = chunk(table.unpack(argv))
end

-- Under --distributed only rank 0 prints (the scripts found gdnn.mpi).
local lead = true
for _, a in ipairs(argv) do
  if a == "--distributed" then
    lead = require("gdnn.distributed").mpi().rank() == 0
  end
end
if lead then
  print(string.format("demo: RMS errors (rescaled units): sine %.6f, " ..
                      "helix %.6f", results.sine.rms, results.helix.rms))
end
return results
