-- LuaRocks: `luarocks make` of animo-*.rockspec into a fresh tree, offline,
-- with Debian's lua-cjson as the system's; then animo works from that tree
-- in plain lua5.4 and as the `animo` command.
local helper = require "spec.support.helper"

local emu, work, tree
setup(function()
  emu = helper.start_emulator()
  emu:reset()
  work, tree = helper.tmpdir(), helper.tmpdir()
end)
teardown(function()
  emu:stop()
  helper.rmtree(work)
  helper.rmtree(tree)
end)

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

describe("the rock", function()
  it("builds and installs with luarocks make, then attaches from plain lua5.4 and the command", function()
    local rockspec = io.popen("ls " .. helper.root .. "/animo-*.rockspec"):read("l")
    assert.is_string(rockspec)
    assert.is_true(os.execute(("cp -r %s/core %s/lua %s/scripts %s %s/"):format(helper.root, helper.root,
      helper.root, rockspec, work)))
    local multiarch = io.popen("gcc -print-multiarch"):read("l") or ""
    local ok, out = sh(("cd %s && luarocks --lua-version 5.4 make --tree %s --deps-mode=none %s " ..
                        "CURL_INCDIR=/usr/include/%s CURL_LIBDIR=/usr/lib/%s")
      :format(work, tree, rockspec:match("[^/]+$"), multiarch, multiarch))
    assert.is_true(ok, out)
    local version = require("animo").VERSION
    assert.equal(version, rockspec:match("animo%-([%d.]+)%-%d+%.rockspec$"))  -- one version everywhere
    assert.matches("animo " .. version:gsub("%.", "%%.") .. "%-1 is now installed", out)

    local paths = io.popen(("luarocks --lua-version 5.4 path --tree %s"):format(tree)):read("a"):gsub("\n", "; ")
    local env = ("ANIMO_BASE_URL=%s ANIMO_CA_FILE=%s ANIMO_COMPANY=%s ANIMO_TOKEN=%s ANIMO_STORE=%s")
      :format(emu.base_url, emu.ca_file, emu.fixtures.companies.pro, emu.fixtures.tokens.full, emu.store_path)
    ok, out = sh(("cd / && %s export %s && lua5.4 -e %s"):format(paths, env, helper.shell_quote(
      "local a = require 'animo'; print(package.searchpath('animo.core', package.cpath)); " ..
      "print(assert(a.client():attach{ name = 'rock', url = 'https://r.example/', events = { 'lead-created' } }).name)")))
    assert.is_true(ok, out)
    assert.equal(tree .. "/lib/lua/5.4/animo/core.so\nrock\n", out)

    ok, out = sh(("cd / && %s export %s && %s/bin/animo list"):format(paths, env, tree))
    assert.is_true(ok, out)
    assert.matches("\nrock  ", out)
    ok, out = sh(("cd / && %s %s/bin/animo --version"):format(paths, tree))
    assert.is_true(ok, out)
    assert.matches("^animo " .. version:gsub("%.", "%%."), out)
  end)
end)
