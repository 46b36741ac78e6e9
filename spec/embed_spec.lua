-- Embedding (API.md §1, §5): install animo into a fresh prefix, build a C
-- host against it with pkg-config, and run its 60 Hz frame loop while 100
-- attach tasks run against the emulator with 50 ms of latency.
local helper = require "spec.support.helper"

local emu, prefix
setup(function()
  emu = helper.start_emulator()
  emu:reset()
  prefix = helper.tmpdir()
  assert(os.execute(("cmake --install %s --prefix %s > %s/install.log 2>&1")
    :format(helper.shell_quote(helper.build), prefix, prefix)), "cmake --install failed")
end)
teardown(function()
  emu:stop()
  helper.rmtree(prefix)
end)

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok and 0 or code, out
end

describe("an installed animo", function()
  it("has the binary, both libraries, the header, animo.pc and the Lua module", function()
    for _, f in ipairs{ "bin/animo", "include/animo.h", "lib/libanimo.so", "lib/libanimo.a",
                        "lib/pkgconfig/animo.pc", "lib/lua/5.4/animo/core.so",
                        "share/lua/5.4/animo/init.lua", "share/lua/5.4/animo/task.lua" } do
      assert.is_not_nil(helper.read_file(prefix .. "/" .. f), f)
    end
    local code, out = sh(prefix .. "/bin/animo -v")
    assert.equal(0, code)
    assert.matches("^animo %d", out)
  end)

  it("loads in plain lua5.4 from the prefix", function()
    local code, out = sh(("cd / && LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua;;' " ..
                          "LUA_CPATH='%s/lib/lua/5.4/?.so;;' lua5.4 -e %s")
      :format(prefix, prefix, prefix, helper.shell_quote("print(require('animo').VERSION, package.searchpath('animo', package.path))")))
    assert.equal(0, code)
    assert.equal(require("animo").VERSION .. "\t" .. prefix .. "/share/lua/5.4/animo/init.lua\n", out)
  end)

  it("embeds in a C host built with pkg-config whose frames never wait for the network", function()
    local pc = ("PKG_CONFIG_PATH=%s/lib/pkgconfig"):format(prefix)
    local code, flags = sh(pc .. " pkg-config --cflags --libs animo")
    assert.equal(0, code, flags)
    local host = prefix .. "/host"
    code, flags = sh(("cc -Wall -Wextra -Werror -o %s %s/spec/c/host.c %s"):format(host, helper.root, flags:gsub("\n", "")))
    assert.equal(0, code, flags)

    emu:settings{ latency_ms = 50 }
    local out
    code, out = sh(("env LD_LIBRARY_PATH=%s/lib ANIMO_BASE_URL=%s ANIMO_CA_FILE=%s ANIMO_COMPANY=%s ANIMO_TOKEN=%s ANIMO_STORE=%s %s 100")
      :format(prefix, emu.base_url, emu.ca_file, emu.fixtures.companies.pro, emu.fixtures.tokens.full,
              prefix .. "/store/store.json", host))
    print("\n# host: " .. out:gsub("\n$", ""))
    assert.equal(0, code, out)
    local ok, n, frames, longest = out:match("^tasks (%d+)/(%d+) ok, frames (%d+), longest poll ([%d.]+) ms")
    assert.equal("100", ok)
    assert.equal("100", n)
    assert.is_true(tonumber(frames) > 1)
    -- Generous: a poll that waited for the network would take the 50 ms
    -- latency. A poll may start TLS handshakes and write the store (fsync),
    -- which take 8-14 ms here, and twice that under AddressSanitizer.
    local bound = os.getenv("ASAN_OPTIONS") and 40 or 20
    assert.is_true(tonumber(longest) < bound, "a poll waited: " .. out)
    assert.equal(100, #emu:state().webhooks)
  end)
end)
