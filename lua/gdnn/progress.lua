-- gdnn.progress: training progress as one updating bar on a terminal
-- and as plain lines otherwise (a log file, a pipe, a test).
--
--   local progress = require "gdnn.progress"
--   local bar = progress.new{total = 5000, label = "sine"}
--   ... bar:update(iteration, loss) ...
--   bar:finish()
--
-- Each report shows the iteration, the loss and the iterations per
-- second since the start.
--
-- Limits: the rate uses wall-clock time from /proc/uptime (Linux, in
-- hundredths of a second), else os.clock (processor time), unless a
-- clock function is given; whether stdout is a terminal is asked of
-- the shell (test -t 1).

local M = {}

local Progress = {}
Progress.__index = Progress

local option_keys = {
  total = true, label = true, out = true, tty = true, width = true,
  clock = true,
}


-- True when the standard output of this process is a terminal. The
-- shell started by os.execute inherits that descriptor.
function M.isatty()
  local ok = os.execute("test -t 1")
  return ok == true
end


-- Seconds of wall-clock time since some fixed moment: the uptime of a
-- Linux system, or the processor time of this process elsewhere.
function M.clock()
  local fh = io.open("/proc/uptime", "r")
  if fh then
    local t = fh:read("n")
    fh:close()
    if t then return t end
  end
  return os.clock()
end


-- A new progress reporter. opts: total (iterations, required), label
-- (a word before each report), out (a file, default io.stdout), tty
-- (force bar or lines; default: whether stdout is a terminal), width
-- (bar columns, default 30), clock (a function giving seconds).
function M.new(opts)
  opts = opts or {}
  for k in pairs(opts) do
    if not option_keys[k] then
      error(string.format("progress: unknown option '%s'", tostring(k)),
            2)
    end
  end
  local total = opts.total
  if math.type(total) ~= "integer" or total < 1 then
    error("progress: total must be a positive integer", 2)
  end
  local tty = opts.tty
  if tty == nil then tty = M.isatty() end
  local clock = opts.clock or M.clock
  local self = setmetatable({
    total = total, label = opts.label, out = opts.out or io.stdout,
    tty = tty, width = opts.width or 30, clock = clock,
    start = clock(), last_len = 0,
  }, Progress)
  return self
end


-- Iterations per second since the start, or nil before any time passed.
function Progress:rate(iteration)
  local dt = self.clock() - self.start
  if dt <= 0 then return nil end
  return iteration / dt
end


-- The text of one report (without bar or line end).
function Progress:text(iteration, loss)
  local digits = #tostring(self.total)
  local rate = self:rate(iteration)
  local parts = {}
  if self.label then parts[#parts + 1] = self.label end
  parts[#parts + 1] = string.format("iteration %" .. digits .. "d/%d",
                                    iteration, self.total)
  parts[#parts + 1] = string.format("loss %.6e", loss)
  parts[#parts + 1] = rate and string.format("%.0f it/s", rate)
                      or "- it/s"
  return table.concat(parts, "  ")
end


-- Report iteration (1 .. total) with its loss: a redrawn bar on a
-- terminal, one line otherwise.
function Progress:update(iteration, loss)
  local text = self:text(iteration, loss)
  if not self.tty then
    self.out:write(text, "\n")
    self.out:flush()
    return
  end
  local frac = math.max(0, math.min(1, iteration / self.total))
  local filled = math.floor(frac * self.width + 0.5)
  local bar = string.format("[%s%s] %3d%%  %s",
                            string.rep("#", filled),
                            string.rep("-", self.width - filled),
                            math.floor(frac * 100 + 0.5), text)
  local pad = math.max(0, self.last_len - #bar)
  self.out:write("\r", bar, string.rep(" ", pad))
  self.out:flush()
  self.last_len = #bar
end


-- End the bar's line (nothing to do for plain lines).
function Progress:finish()
  if self.tty and self.last_len > 0 then
    self.out:write("\n")
    self.out:flush()
    self.last_len = 0
  end
end


return M
