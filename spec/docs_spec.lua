-- The docs can't drift from the code: every Lua and C sample in README.md and
-- doc/*.md runs against the emulator, and so does every `animo` command line
-- of their shell samples (setup lines — builds, installs, the emulator
-- helper — are what CI and the other specs run). LDoc builds the reference.
local helper = require "spec.support.helper"

local emu, prefix, cwd
setup(function()
  emu = helper.start_emulator()
  prefix, cwd = helper.tmpdir(), helper.tmpdir()
  assert(os.execute(("cmake --install %s --prefix %s > /dev/null 2>&1"):format(helper.shell_quote(helper.build), prefix)))
end)
teardown(function()
  emu:stop()
  helper.rmtree(prefix)
  helper.rmtree(cwd)
end)

local DOCS = { "README.md", "doc/scripts.md", "doc/commands.md", "doc/embedding.md", "doc/store.md", "doc/errors.md" }

-- The fenced blocks of a Markdown file: { lang, code, line }.
local function blocks(path)
  local found, lang, code, start = {}, nil, nil, nil
  local n = 0
  for line in io.lines(helper.root .. "/" .. path) do
    n = n + 1
    if not lang and line:match("^```%a+") then
      lang, code, start = line:match("^```(%a+)"), {}, n
    elseif lang and line:match("^```%s*$") then
      found[#found + 1] = { lang = lang, code = table.concat(code, "\n") .. "\n", line = start }
      lang = nil
    elseif lang then
      code[#code + 1] = line
    end
  end
  return found
end

local function env()
  return { ANIMO_BASE_URL = emu.base_url, ANIMO_CA_FILE = emu.ca_file, ANIMO_COMPANY = emu.fixtures.companies.pro,
           ANIMO_TOKEN = emu.fixtures.tokens.full, ANIMO_STORE = emu.store_path }
end

-- Runs a shell command line with the emulator's settings, in `dir` (the
-- scratch folder by default); returns ok, output.
local function sh(line, extra, dir)
  local vars = {}
  for k, v in pairs(env()) do vars[#vars + 1] = ("export %s=%s;"):format(k, helper.shell_quote(v)) end
  for k, v in pairs(extra or {}) do vars[#vars + 1] = ("export %s=%s;"):format(k, helper.shell_quote(v)) end
  local p = io.popen(("cd %s && %s %s 2>&1"):format(dir or cwd, table.concat(vars, " "), line))
  local out = p:read("a")
  return p:close(), out
end

local RUNNERS = {
  lua = function(code)
    helper.write_file(cwd .. "/sample.lua", code)
    return sh(helper.shell_quote(helper.bin) .. " sample.lua")
  end,
  c = function(code)
    helper.write_file(cwd .. "/sample.c", code)
    local ok, out = sh(("cc -Wall -Wextra -Werror -o sample sample.c $(pkg-config --cflags --libs animo)"),
                       { PKG_CONFIG_PATH = prefix .. "/lib/pkgconfig" })
    if not ok then return ok, out end
    return sh("./sample", { LD_LIBRARY_PATH = prefix .. "/lib" })
  end,
  sh = function(code)
    -- files the commands refer to
    helper.write_file(cwd .. "/token.txt", emu.fixtures.tokens.full .. "\n")
    helper.write_file(cwd .. "/webhooks.lua", [[return { webhooks = {
      { name = "Meetings", url = "https://cal.example.com/hook", events = { "meeting-booked" } } } }]])
    local ran = 0
    for line in code:gmatch("[^\n]+") do
      local command = line:gsub("%s+#.*$", "")
      -- `build/animo …` lines name files of the checkout, so they run there
      local in_checkout = command:match("^build/animo ") ~= nil
      if in_checkout or command:match("^animo ") then
        ran = ran + 1
        local ok, out = sh(helper.shell_quote(helper.bin) .. command:gsub("^[%w/]*animo", "", 1), nil,
                           in_checkout and helper.root or nil)
        if not ok then return false, command .. "\n" .. out end
      end
    end
    return true, ("%d command lines"):format(ran)
  end,
}

describe("documentation samples", function()
  for _, path in ipairs(DOCS) do
    for _, block in ipairs(blocks(path)) do
      local run = RUNNERS[block.lang]
      it(("%s:%d (%s) runs"):format(path, block.line, block.lang), function()
        assert.is_function(run, "no runner for " .. block.lang)
        emu:reset()
        os.remove(emu.store_path)
        local ok, out = run(block.code)
        assert.is_true(ok, out)
      end)
    end
  end

  it("cover every doc page, and every page has a sample", function()
    for _, path in ipairs(DOCS) do assert.is_true(#blocks(path) > 0, path) end
  end)
end)

describe("the reference", function()
  it("builds with LDoc, listing the public API and the topic pages", function()
    local out_dir = helper.tmpdir()
    local p = io.popen(("cd %s && ldoc -d %s . 2>&1"):format(helper.shell_quote(helper.root), out_dir))
    local log = p:read("a")
    assert.is_true(p:close(), log)
    local client = helper.read_file(out_dir .. "/modules/animo.client.html")
    for _, name in ipairs{ "Client:attach", "Client:update", "Client:detach", "Client:webhooks", "Client:login" } do
      assert.matches(name, client, 1, true)
    end
    assert.is_nil(client:find("Client:send", 1, true))  -- internals stay out
    for _, topic in ipairs{ "scripts", "commands", "embedding", "store", "errors" } do
      assert.is_string(helper.read_file(out_dir .. "/topics/" .. topic .. ".md.html"), topic)
    end
    helper.rmtree(out_dir)
  end)
end)
