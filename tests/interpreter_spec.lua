-- Specs for the gdnn-lua interpreter: its command line, exit codes and
-- messages, and the REPL driven through a pipe with -i. Each case runs
-- the executable named by GDNN_LUA (default ./gdnn-lua, from the root of
-- the source tree) in a shell.

local GDNN_LUA = os.getenv("GDNN_LUA") or "./gdnn-lua"

local helpers = require "tests.helpers"
local quote, slurp, spit = helpers.quote, helpers.slurp, helpers.spit

-- Run gdnn-lua with the shell words args (already quoted), text on
-- stdin and env a prefix of shell assignments; returns stdout, stderr
-- and the exit code.
local function run(args, input, env)
  return helpers.capture(string.format("%s%s %s", env or "", GDNN_LUA,
                                       args or ""), input or "")
end

-- A script file holding text; the caller removes it.
local script = helpers.tempfile

-- Start gdnn-lua with args in the background, wait until the file
-- marker exists (the running code makes it), send SIGINT and return
-- stdout, stderr and the exit code.
local function interrupt(args, input, marker)
  local inp, out, err = os.tmpname(), os.tmpname(), os.tmpname()
  spit(inp, input or "")
  os.remove(marker)
  local cmd = string.format(
    "timeout --foreground 20 %s %s <%s >%s 2>%s & pid=$!; " ..
    "n=0; while [ ! -e %s ] && [ $n -lt 200 ]; do sleep 0.05; " ..
    "n=$((n+1)); done; kill -INT $pid; wait $pid; exit $?",
    GDNN_LUA, args, inp, out, err, marker)
  local _, _, code = os.execute(cmd)
  local o, e = slurp(out), slurp(err)
  for _, f in ipairs({ inp, out, err, marker }) do os.remove(f) end
  return o, e, code
end

describe("gdnn-lua", function()
  it("prints a version line naming gdnn and the Lua version", function()
    local out, _, code = run("-v")
    assert.matches("^gdnn%-lua [%d.]+ %(gdnn%) with Lua 5%.4", out)
    assert.are.equal(0, code)
  end)

  it("runs -e statements in the order given", function()
    local out, _, code = run("-e 'x = 2' -e 'print(x * 3)' -e'print(x)'")
    assert.are.equal("6\n2\n", out)
    assert.are.equal(0, code)
  end)

  it("preloads gdnn so that require finds it", function()
    local out = run("-e 'print(type(require \"gdnn\"))'")
    assert.are.equal("table\n", out)
  end)

  it("defines no global gd outside the REPL", function()
    assert.are.equal("nil\n", (run("-e 'print(gd)'")))
  end)

  it("passes script arguments in arg and as the chunk's ...", function()
    local s = script("print(arg[0] == ..., select('#', ...), ...)\n"
                     .. "print(arg[1], arg[2], #arg)\n")
    local out, _, code = run(quote(s) .. " a 'b c'")
    os.remove(s)
    assert.are.equal("false\t2\ta\tb c\na\tb c\t2\n", out)
    assert.are.equal(0, code)
  end)

  it("puts the interpreter and its options at negative indices", function()
    local s = script("print(arg[0], arg[-1], arg[-2], arg[-3])")
    local out = run("-e 'y = 1' " .. quote(s) .. " z")
    os.remove(s)
    assert.are.equal(s .. "\ty = 1\t-e\t" .. GDNN_LUA .. "\n", out)
  end)

  it("puts the interpreter at arg[0] when there is no script", function()
    local out = run("-e 'print(arg[0], arg[1], arg[2])'")
    assert.are.equal(GDNN_LUA .. "\t-e\tprint(arg[0], arg[1], arg[2])\n",
                     out)
  end)

  it("runs stdin as the script after -", function()
    local out, _, code = run("- one two", "print(arg[0], ...)")
    assert.are.equal("-\tone\ttwo\n", out)
    assert.are.equal(0, code)
  end)

  it("runs stdin as a script when it is a pipe and nothing else is asked",
     function()
    local out, _, code = run("", "print('from stdin')\nx = 1\nprint(x)\n")
    assert.are.equal("from stdin\n1\n", out)
    assert.are.equal(0, code)
  end)

  it("stops reading options after --", function()
    local s = script("print(...)")
    local out = run("-- " .. quote(s) .. " -e -v")
    os.remove(s)
    assert.are.equal("-e\t-v\n", out)
  end)

  it("requires a module into a global of its name with -l", function()
    local out = run("-l string -l s=string -e 'print(s == string)'")
    assert.are.equal("true\n", out)
  end)

  it("names the global after -l up to a '-' in the module name",
     function()
    local dir, remove = helpers.tempdir()
    spit(dir .. "/m-v1.lua", "return { name = 'm' }")
    local setpath = "package.path = '" .. dir .. "/?.lua;' .. package.path"
    local out = run("-e " .. quote(setpath) .. " -l m-v1 -e 'print(m.name)'")
    remove()
    assert.are.equal("m\n", out)
  end)

  it("finds Lua modules in the lua folder beside the executable",
     function()
    local dir, remove = helpers.tempdir()
    assert(os.execute("mkdir -p " .. quote(dir .. "/lua/pkg")))
    assert(os.execute("cp " .. GDNN_LUA .. " " .. quote(dir)))
    spit(dir .. "/lua/pkg/mod.lua", "return 'module found'")
    spit(dir .. "/lua/pkg/init.lua", "return 'init found'")
    local saved = GDNN_LUA
    GDNN_LUA = quote(dir .. "/gdnn-lua")
    local out, err = run("-e 'print((require \"pkg.mod\"), (require \"pkg\"))'")
    GDNN_LUA = saved
    remove()
    assert.are.equal("", err)
    assert.are.equal("module found\tinit found\n", out)
  end)

  it("fails with 1 and a traceback on stderr when a script errs",
     function()
    local s = script("local x = 1\nerror('boom')\n")
    local out, err, code = run(quote(s))
    os.remove(s)
    assert.are.equal("", out)
    assert.are.equal(1, code)
    assert.matches("^gdnn%-lua: [^\n]*:2: boom\nstack traceback:\n", err)
    assert.matches("in main chunk", err, 1, true)
  end)

  it("stops at the first failing -e and runs nothing after it", function()
    local out, err, code = run("-e 'print(1)' -e 'error(\"no\")' -e 'print(2)'")
    assert.are.equal("1\n", out)
    assert.matches("^gdnn%-lua: %(command line%):1: no\n", err)
    assert.are.equal(1, code)
  end)

  it("exits with the status given to os.exit", function()
    local cases = { { "os.exit(3)", 3 }, { "os.exit(true)", 0 },
                    { "os.exit(false)", 1 }, { "os.exit(7, true)", 7 } }
    for _, c in ipairs(cases) do
      local _, _, code = run("-e " .. quote(c[1]))
      assert.are.equal(c[2], code, c[1])
    end
  end)

  it("reports a syntax error in a script", function()
    local s = script("x = = 1")
    local _, err, code = run(quote(s))
    os.remove(s)
    assert.are.equal(1, code)
    assert.matches("^gdnn%-lua: [^\n]*:1: unexpected symbol near '='", err)
  end)

  it("reports a script that cannot be opened", function()
    local _, err, code = run("/nonexistent/x.lua")
    assert.are.equal(1, code)
    assert.matches("^gdnn%-lua: cannot open /nonexistent/x%.lua", err)
  end)

  it("reports a module that -l cannot find", function()
    local _, err, code = run("-l no_such_module_here")
    assert.are.equal(1, code)
    assert.matches("module 'no_such_module_here' not found", err, 1, true)
  end)

  it("rejects bad options with a usage message", function()
    local cases = {
      { "-x", "unrecognized option '-x'" },
      { "-vx", "unrecognized option '-vx'" },
      { "---", "unrecognized option '---'" },
      { "-e", "'-e' needs argument" },
      { "-l", "'-l' needs argument" },
      { "-e -v", "'-e' needs argument" },
    }
    for _, c in ipairs(cases) do
      local out, err, code = run(c[1])
      assert.are.equal("", out, c[1])
      assert.are.equal(1, code, c[1])
      assert.matches("^gdnn%-lua: " .. c[2]:gsub("%p", "%%%0") ..
                     "\nusage: gdnn%-lua %[options%]", err)
    end
  end)

  it("names error values that are not strings", function()
    local _, err, code = run("-e 'error({})'")
    assert.are.equal(1, code)
    assert.matches("^gdnn%-lua: %(error object is a table value%)", err)
    _, err = run("-e " .. quote("error(setmetatable({}, " ..
                 "{ __tostring = function() return 'custom' end }))"))
    assert.are.equal("gdnn-lua: custom\n", err)
  end)

  it("runs LUA_INIT_5_4 or else LUA_INIT before the options", function()
    local out = run("-e 'print(x)'", "", "LUA_INIT='x = 1' ")
    assert.are.equal("1\n", out)
    out = run("-e 'print(x)'", "", "LUA_INIT='x = 1' LUA_INIT_5_4='x = 2' ")
    assert.are.equal("2\n", out)
    local s = script("x = 'from file'")
    out = run("-e 'print(x)'", "", "LUA_INIT=@" .. quote(s) .. " ")
    os.remove(s)
    assert.are.equal("from file\n", out)
  end)

  it("fails when LUA_INIT fails", function()
    local out, err, code = run("-e 'print(1)'", "", "LUA_INIT='error(\"i\")' ")
    assert.are.equal("", out)
    assert.are.equal(1, code)
    assert.matches("^gdnn%-lua: LUA_INIT:1: i\n", err)
  end)

  it("ignores LUA_INIT and LUA_PATH with -E", function()
    local out = run("-E -e 'print(x, package.path:find(\"nowhere\"))'", "",
                    "LUA_INIT='x = 1' LUA_PATH='/nowhere/?.lua' ")
    assert.are.equal("nil\tnil\n", out)
    out = run("-e 'print(package.path:find(\"/nowhere/\", 1, true) ~= nil)'",
              "", "LUA_PATH='/nowhere/?.lua' ")
    assert.are.equal("true\n", out)
  end)

  it("turns warnings on with -W", function()
    local _, err = run("-e 'warn(\"quiet\")'")
    assert.are.equal("", err)
    _, err = run("-W -e 'warn(\"loud\")'")
    assert.are.equal("Lua warning: loud\n", err)
  end)

  it("stops a running script on SIGINT with an error", function()
    local marker = os.tmpname()
    local s = script("io.open(" .. string.format("%q", marker) ..
                     ", 'w'):close()\nwhile true do end\n")
    local out, err, code = interrupt(quote(s), "", marker)
    os.remove(s)
    assert.are.equal("", out)
    assert.are.equal(1, code)
    assert.matches("^gdnn%-lua: interrupted!\nstack traceback:", err)
  end)
end)

describe("the gdnn-lua REPL", function()
  -- Run input through the REPL; returns what follows the version line.
  local function repl(input, args)
    local out, err, code = run("-i " .. (args or ""), input)
    local version, rest = out:match("^([^\n]*)\n(.*)$")
    assert.matches("^gdnn%-lua ", version)
    return rest, err, code
  end

  it("prints the values of expressions", function()
    local out, err, code = repl("1 + 1\n'a', nil, 3\n=2^3\n")
    assert.are.equal("> 2\n> a\tnil\t3\n> 8.0\n> \n", out)
    assert.are.equal("", err)
    assert.are.equal(0, code)
  end)

  it("prints nothing for statements", function()
    local out = repl("x = 5\nlocal y = 1\nx\n")
    assert.are.equal("> > > 5\n> \n", out)
  end)

  it("continues an incomplete statement with the second prompt",
     function()
    local out = repl("for i = 1, 3 do\nlocal s = i * 2\nprint(s)\nend\n" ..
                     "t = {\n1,\n2 }\n#t\n")
    assert.are.equal("> >> >> >> 2\n4\n6\n> >> >> > 2\n> \n", out)
  end)

  it("shows an error with a traceback and goes on", function()
    local out, err, code = repl("error('boom')\nprint('still here')\n")
    assert.are.equal("> > still here\n> \n", out)
    assert.matches("^stdin:1: boom\nstack traceback:\n", err)
    assert.are.equal(0, code)
  end)

  it("shows syntax errors and goes on", function()
    local out, err = repl("1 +* 2\n3\n")
    assert.are.equal("> > 3\n> \n", out)
    assert.matches("^stdin:1: unexpected symbol near", err)
  end)

  it("reports a statement left incomplete at the end of input", function()
    local out, err, code = repl("function f()\n")
    assert.are.equal("> >> > \n", out)
    assert.matches("^stdin:1: 'end' expected near <eof>\n", err)
    assert.are.equal(0, code)
  end)

  it("reports an error raised by print", function()
    local _, err = repl("setmetatable({}, { __tostring = " ..
                        "function() error('no text', 0) end })\n")
    assert.matches("error calling 'print' (no text)", err, 1, true)
  end)

  it("defines gd as the gdnn module", function()
    local out = repl("gd == require 'gdnn'\n")
    assert.are.equal("> true\n> \n", out)
  end)

  it("prints tensors with their __tostring", function()
    local expected = run("-e 'print(require(\"gdnn\").zeros(2, 3))'")
    local out = repl("gd.zeros(2, 3)\n")
    assert.are.equal("> " .. expected .. "> \n", out)
  end)

  it("takes its prompts from _PROMPT and _PROMPT2", function()
    local out = repl("_PROMPT = 'gd> '; _PROMPT2 = '.. '\nif true\nthen end\n")
    assert.are.equal("> gd> .. gd> \n", out)
  end)

  it("runs the script and its arguments before the REPL with -i",
     function()
    local s = script("greeting = 'hello ' .. ...")
    local out = repl("greeting\n", quote(s) .. " world")
    os.remove(s)
    assert.are.equal("> hello world\n> \n", out)
  end)

  it("exits with the status given to os.exit", function()
    local out, _, code = repl("os.exit(4)\nprint('not reached')\n")
    assert.are.equal("> ", out)
    assert.are.equal(4, code)
  end)

  it("stops a running chunk on SIGINT and goes on", function()
    local marker = os.tmpname()
    local input = "io.open(" .. string.format("%q", marker) ..
                  ", 'w'):close() while true do end\nprint('after')\n"
    local out, err, code = interrupt("-i", input, marker)
    assert.matches("> > after\n> \n$", out)
    assert.matches("^interrupted!\nstack traceback:\n\tstdin:1:", err)
    assert.are.equal(0, code)
  end)
end)
