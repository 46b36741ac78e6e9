-- LuaRocks: builds animo.core (C, against libcurl) and installs the Lua
-- modules and the `animo` command. lua-cjson may come from the system
-- (Debian's lua-cjson): `luarocks make --deps-mode=none` then uses it.
rockspec_format = "3.0"
package = "animo"
version = "0.1.0-1"
source = {
  url = "git+file:///animo",  -- built from a checkout with `luarocks make`
}
description = {
  summary = "Manage Animo webhooks from Lua 5.4",
  detailed = [[
    A client for the webhook API of Animo (events and lead capture): attach,
    update and detach webhooks over verified HTTPS, a durable token store,
    non-blocking tasks for game and app hosts, and the `animo` command.
  ]],
  license = "MIT",
  labels = { "webhooks", "http", "libcurl" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson >= 2.1",
}
external_dependencies = {
  CURL = { header = "curl/curl.h", library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["animo.core"] = {
      sources = { "core/core_lua.c", "core/http_lua.c", "core/layout_lua.c", "core/multi_lua.c",
                  "core/store_lua.c", "core/http.c", "core/store.c" },
      incdirs = { "core", "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
      libraries = { "curl" },
    },
    ["animo"] = "lua/animo/init.lua",
    ["animo.error"] = "lua/animo/error.lua",
    ["animo.check"] = "lua/animo/check.lua",
    ["animo.client"] = "lua/animo/client.lua",
    ["animo.response"] = "lua/animo/response.lua",
    ["animo.retry"] = "lua/animo/retry.lua",
    ["animo.store"] = "lua/animo/store.lua",
    ["animo.sync"] = "lua/animo/sync.lua",
    ["animo.task"] = "lua/animo/task.lua",
    ["animo.webhook"] = "lua/animo/webhook.lua",
    ["animo.cli"] = "scripts/commands/cli.lua",
    ["animo.commands.attach"] = "scripts/commands/attach.lua",
    ["animo.commands.update"] = "scripts/commands/update.lua",
    ["animo.commands.detach"] = "scripts/commands/detach.lua",
    ["animo.commands.list"] = "scripts/commands/list.lua",
    ["animo.commands.login"] = "scripts/commands/login.lua",
    ["animo.commands.sync"] = "scripts/commands/sync.lua",
    ["animo.commands.doctor"] = "scripts/commands/doctor.lua",
    ["animo.commands.help"] = "scripts/commands/help.lua",
  },
  install = {
    bin = { animo = "scripts/animo" },
  },
}
