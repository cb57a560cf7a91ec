-- Small helpers that several specs share: shell quoting, reading and
-- writing whole files, temporary folders, flattening a tensor and
-- checking an error message. Specs load them from the root of the
-- source tree with
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
