-- luacheck for animo: Lua 5.4, no globals anywhere; specs run under busted.
std = "lua54"
max_line_length = 140
exclude_files = { "build*/**" }
files["spec/**/*_spec.lua"] = { std = "+busted" }
