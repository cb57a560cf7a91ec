-- Small helpers that several specs share: shell quoting, running a
-- shell command and capturing what it prints, reading and writing
-- whole files, temporary files and folders, the checksum and byte
-- patches of gdnn's file format, flattening a tensor and checking an
-- error message. Specs load them from the root of the source tree with
--
--   local helpers = require "tests.helpers"
--
-- Limits: the shell helpers assume a POSIX sh (mkdir -p, rm -rf); the
-- temporary names come from os.tmpname.

local assert = require "luassert"

local M = {}


-- The string s (or tostring of any value) quoted for a POSIX shell.
function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


-- The whole content of the file at path; a missing file fails the spec.
function M.slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end


-- Write text to the file at path, replacing what was there.
function M.spit(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end


-- A fresh temporary folder, and a function that removes it with all
-- it holds.
function M.tempdir()
  local name = os.tmpname()
  os.remove(name)
  assert(os.execute("mkdir -p " .. M.quote(name)))
  return name, function() os.execute("rm -rf " .. M.quote(name)) end
end


-- The name of a new temporary file holding text; the caller removes
-- it.
function M.tempfile(text)
  local name = os.tmpname()
  M.spit(name, text)
  return name
end


-- Remove the file at path and the path.XXXXXX files a save to path
-- leaves behind when it is stopped before its rename.
function M.remove_saved(path)
  os.remove(path)
  os.execute("rm -f " .. M.quote(path) .. ".??????")
end


-- Run cmd in a shell; returns its stdout and stderr together, and
-- whether it succeeded.
function M.sh(cmd)
  local log = os.tmpname()
  local ok = os.execute("(" .. cmd .. ") >" .. M.quote(log) .. " 2>&1")
  local out = M.slurp(log)
  os.remove(log)
  return out, ok == true
end


-- Run cmd like M.sh; returns its output, and fails the spec with the
-- command and its output unless it succeeds.
function M.must(cmd)
  local out, ok = M.sh(cmd)
  assert(ok, "command failed: " .. cmd .. "\n" .. out)
  return out
end


-- Run the simple command cmd in a shell, with the text input on its
-- stdin when input is given (else the spec's own stdin); returns its
-- stdout, its stderr and its exit code.
function M.capture(cmd, input)
  local err, inp = os.tmpname(), nil
  local redirect = " 2>" .. M.quote(err)
  if input then
    inp = M.tempfile(input)
    redirect = " <" .. M.quote(inp) .. redirect
  end
  local p = assert(io.popen(cmd .. redirect, "r"))
  local out = p:read("a")
  local _, _, code = p:close()
  local errtext = M.slurp(err)
  os.remove(err)
  if inp then os.remove(inp) end
  return out, errtext, code
end


-- FNV-1a 64 of s, the checksum that ends every gdnn file (Lua
-- integers wrap, as the C code's unsigned ones do).
function M.fnv1a(s)
  local h = -3750763034362895579       -- 14695981039346656037
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 1099511628211
  end
  return h
end


-- The file image s with its last 8 bytes replaced by the checksum of
-- the rest.
function M.reseal(s)
  local body = s:sub(1, -9)
  return body .. string.pack("<i8", M.fnv1a(body))
end


-- s with the bytes from 1-based position k on replaced by r.
function M.patch(s, k, r)
  return s:sub(1, k - 1) .. r .. s:sub(k + #r)
end


-- Column (i, j) of the Hessian of net's loss on X, Y by the weights of
-- layer l, as central differences (step h) of the gradient
-- net:backward gives: the change of dE/dW_l per change of W_l[i, j].
function M.gradient_difference(net, X, Y, l, i, j, h)
  local W = net.weights[l]
  local v = W[{i, j}]
  W[{i, j}] = v + h
  local up = net:backward(X, Y)[l]
  W[{i, j}] = v - h
  local down = net:backward(X, Y)[l]
  W[{i, j}] = v
  return (up - down) / (2 * h)
end


-- The elements of a tensor as a flat Lua list, in row-major order.
function M.flat(t)
  local out = {}
  local function walk(v)
    if type(v) == "table" then
      for _, e in ipairs(v) do walk(e) end
    else
      out[#out + 1] = v
    end
  end
  walk(t:totable())
  return out
end


-- Call fn(...) and check that it fails with a message containing text
-- (a plain substring, not a pattern).
function M.fails_with(text, fn, ...)
  local ok, msg = pcall(fn, ...)
  assert.is_false(ok, "expected an error containing: " .. text)
  msg = tostring(msg)
  assert(msg:find(text, 1, true),
         "expected an error containing: " .. text .. "\ngot: " .. msg)
end


return M
