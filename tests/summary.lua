-- A busted output handler: busted's plain terminal output, followed by
-- one line "label: N passed, N failed"; the counts are also appended to
-- the file named by GDNN_TEST_COUNTS so tools/runtests can add them up.

return function(options)
  local busted = require "busted"
  local handler = require "busted.outputHandlers.plainTerminal"(options)

  busted.subscribe({"suite", "end"}, function()
    local passed = handler.successesCount
    local failed = handler.failuresCount + handler.errorsCount
    local skipped = handler.pendingsCount
    local label = os.getenv("GDNN_TEST_LABEL") or "specs"
    io.write(string.format("\n%s: %d passed, %d failed, %d skipped\n",
      label, passed, failed, skipped))
    local path = os.getenv("GDNN_TEST_COUNTS")
    if path then
      local f = assert(io.open(path, "a"))
      f:write(string.format("%d %d %d\n", passed, failed, skipped))
      f:close()
    end
    return nil, true
  end)
  return handler
end
