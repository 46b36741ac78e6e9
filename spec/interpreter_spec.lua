-- The bundled interpreter as a real process: arguments, exit codes, stderr,
-- and that it needs no Lua files on disk (API.md §1).
local helper = require "spec.support.helper"
local run = helper.run

local dir
setup(function()
  dir = helper.tmpdir()
  helper.write_file(dir .. "/args.lua", [[
    print(arg[0], arg[1], arg[2], #arg, select("#", ...), ...)
    print(arg[-1] ~= nil)
  ]])
  helper.write_file(dir .. "/boom.lua", "local x = 1\nerror('boom')\n")
  helper.write_file(dir .. "/errobj.lua", [[
    local animo = require "animo"
    local client = animo.client{ base_url = "https://127.0.0.1:1/api/v1", company = "c9Xk2", token = "t0ken-abcdef" }
    assert(client:attach{ name = "x", url = "http://insecure.example/", events = { "lead-created" } })
  ]])
  helper.write_file(dir .. "/exit3.lua", "os.exit(3)")
  helper.write_file(dir .. "/syntax.lua", "local = 1")
  helper.write_file(dir .. "/mymod.lua", "return { answer = 42 }")
end)
teardown(function() helper.rmtree(dir) end)

describe("animo (interpreter)", function()
  it("runs -e and has animo built in, from any directory", function()
    local code, out, err = run{ "-e", "print(require('animo').VERSION)" }
    assert.equal(0, code)
    assert.equal(require("animo").VERSION .. "\n", out)
    assert.equal("", err)
  end)

  it("needs no Lua files on disk: animo loads even with LUA_PATH pointing nowhere", function()
    local code, out = run({ "-e", "local a = require 'animo'; print(package.searchpath('animo', package.path), a.events[1])" },
                          { LUA_PATH = "/nonexistent/?.lua", LUA_CPATH = "/nonexistent/?.so" })
    assert.equal(0, code)
    assert.equal("nil\tactivation-submitted\n", out)
  end)

  it("has cjson built in", function()
    local code, out = run{ "-e", "print(require('cjson').encode({ a = 1 }))" }
    assert.equal(0, code)
    assert.equal('{"a":1}\n', out)
  end)

  it("still loads user modules through LUA_PATH", function()
    local code, out = run({ "-e", "print(require('mymod').answer)" }, { LUA_PATH = dir .. "/?.lua" })
    assert.equal(0, code)
    assert.equal("42\n", out)
  end)

  it("loads in plain lua5.4 through LUA_PATH and LUA_CPATH pointing at the build", function()
    local cmd = ("cd /tmp && LUA_PATH=%s LUA_CPATH=%s lua5.4 -e %s 2>&1"):format(
      helper.shell_quote(helper.root .. "/lua/?.lua;" .. helper.root .. "/lua/?/init.lua;;"),
      helper.shell_quote(helper.build .. "/lib/?.so;;"),
      helper.shell_quote("local a = require 'animo'; print(a.VERSION, package.searchpath('animo.core', package.cpath))"))
    local p = io.popen(cmd)
    local out = p:read("a")
    assert.is_true(p:close())
    assert.matches("^" .. require("animo").VERSION:gsub("%.", "%%.") .. "\t/.*/lib/animo/core%.so\n$", out)
  end)

  it("prints its version for -v and --version", function()
    for _, flag in ipairs{ "-v", "--version" } do
      local code, out = run{ flag }
      assert.equal(0, code)
      assert.matches("^animo %d+%.%d+%.%d+ %(Lua 5%.4", out)
    end
  end)

  it("sets arg and ... like lua5.4 does", function()
    local code, out = run{ dir .. "/args.lua", "one", "two words" }
    assert.equal(0, code)
    assert.equal(dir .. "/args.lua\tone\ttwo words\t2\t2\tone\ttwo words\ntrue\n", out)
  end)

  it("runs -l mod before the script", function()
    local code, out = run({ "-l", "mymod", "-e", "print(mymod.answer)" }, { LUA_PATH = dir .. "/?.lua" })
    assert.equal(0, code)
    assert.equal("42\n", out)
  end)

  it("reads the script from stdin with - and when stdin is not a terminal", function()
    local code, out = run({ "-", "x" }, nil, "print('from stdin', ...)")
    assert.equal(0, code)
    assert.equal("from stdin\tx\n", out)
    code, out = run({}, nil, "print('piped')")
    assert.equal(0, code)
    assert.equal("piped\n", out)
  end)

  it("exits 1 with one clean line on an uncaught error", function()
    local code, out, err = run{ dir .. "/boom.lua" }
    assert.equal(1, code)
    assert.equal("", out)
    assert.equal("animo: " .. dir .. "/boom.lua:2: boom\n", err)
  end)

  it("prints an animo error object as its own line (assert(client:attach{…}))", function()
    local code, _, err = run{ dir .. "/errobj.lua" }
    assert.equal(1, code)
    assert.equal("animo: validation: url must be an https URL (POST /api/v1/c9Xk2/webhooks/attach)\n", err)
  end)

  it("passes os.exit codes through", function()
    assert.equal(3, (run{ dir .. "/exit3.lua" }))
  end)

  it("reports syntax errors and missing scripts with exit 1", function()
    local code, _, err = run{ dir .. "/syntax.lua" }
    assert.equal(1, code)
    assert.matches("^animo: .*syntax.lua:1: .*\n$", err)
    code, _, err = run{ dir .. "/missing.lua" }
    assert.equal(1, code)
    assert.matches("^animo: cannot open .*missing.lua: No such file or directory\n$", err)
  end)

  it("rejects unknown options with usage on stderr", function()
    local code, out, err = run{ "-x" }
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("unrecognized option '%-x'", err)
    assert.matches("usage: animo", err)
    code, out, err = run{ "-e" }
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("'%-e' needs an argument", err)
  end)

  it("describes non-string error values", function()
    local code, _, err = run{ "-e", "error({})" }
    assert.equal(1, code)
    assert.equal("animo: (error object is a table value)\n", err)
  end)
end)
