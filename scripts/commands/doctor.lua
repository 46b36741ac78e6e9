-- animo doctor — one report to paste into a bug: versions, settings and a
-- live check of the API, each line ok, warn or fail with what to do.
local animo = require "animo"

local function proxy_for(host)
  for _, name in ipairs{ "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" } do
    local proxy = os.getenv(name)
    if proxy and proxy ~= "" then
      local no_proxy = os.getenv("no_proxy") or os.getenv("NO_PROXY") or ""
      for entry in no_proxy:gmatch("[^,%s]+") do
        entry = entry:gsub("^%.", "")
        if entry == "*" or host == entry or host:sub(-#entry - 1) == "." .. entry then return nil end
      end
      return proxy, name
    end
  end
  return nil
end

local function scopes_text(claims)
  local list = {}
  for _, s in ipairs(type(claims.scopes) == "table" and claims.scopes or {}) do list[#list + 1] = tostring(s) end
  return #list > 0 and table.concat(list, " ") or "none"
end

-- Each check returns status, detail[, fix].
local function checks(client)
  local info = client:describe()
  local host = info.base_url:match("^https://([^/:]+)") or info.base_url
  local out = {}
  local function add(name, status, detail, fix)
    out[#out + 1] = { name = name, status = status, detail = detail, fix = fix }
  end

  add("versions", "ok", ("animo %s, %s, %s"):format(animo.VERSION, _VERSION, animo.libcurl_version()))
  if not info.ca_file then
    add("ca", "ok", "certificates are checked against the system's CA store")
  elseif io.open(info.ca_file) then
    add("ca", "ok", "certificates are checked against the CA file " .. info.ca_file)
  else
    add("ca", "fail", "cannot read the CA file " .. info.ca_file, "fix --ca-file or ANIMO_CA_FILE")
  end
  local proxy, var = proxy_for(host)
  if proxy then
    add("proxy", "warn", ("requests to %s go through the proxy from %s"):format(host, var),
        "unset it, or add the host to NO_PROXY, if that is not wanted")
  else
    add("proxy", "ok", "no proxy applies to " .. host)
  end

  if not info.store then
    add("store", info.store_problem and "fail" or "warn",
        info.store_problem and info.store_problem.message or "no token store (store = false)",
        info.store_problem and "set --store or ANIMO_STORE" or nil)
  else
    local probe = require("animo.store").open(info.store):probe()
    if probe.problem then
      add("store", "fail", probe.problem)
    elseif probe.locked then
      add("store", "warn", info.store .. " is locked by another process right now", "wait, or find the process")
    elseif not probe.exists then
      add("store", "ok", info.store .. " does not exist yet; the first attach creates it (0600)")
    else
      add("store", "ok", info.store .. ": private (0600), readable, not locked")
    end
  end

  local claims = info.token_claims
  if not info.token_source then
    add("token", "fail", "no access token", "set ANIMO_TOKEN or run `animo login`")
  elseif not claims then
    add("token", "ok", "an opaque access token from " .. info.token_source .. " (the server checks its scopes)")
  else
    local exp = type(claims.exp) == "number" and math.floor(claims.exp) or nil
    local left = exp and exp - os.time()
    local detail = ("a JWT access token from %s; scopes: %s; %s"):format(info.token_source, scopes_text(claims),
      exp and os.date("!expires %Y-%m-%d %H:%M UTC", exp) or "no expiry")
    if left and left <= 0 then
      add("token", "fail", detail, "the token has expired: create a new one in Animo and run `animo login`")
    elseif left and left < 7 * 86400 then
      add("token", "warn", detail, "the token expires within a week: create a new one soon")
    else
      add("token", "ok", detail)
    end
  end

  local user, err = client:user()
  if user then
    add("api", "ok", ("reached %s, TLS verified, the token was accepted (user %s)"):format(host, tostring(user.id)))
  else
    local fixes = { tls = "check --ca-file / ANIMO_CA_FILE and the host name in --base-url",
                    auth = "the token was refused: run `animo login` with a valid token",
                    network = "check the network and --base-url", timeout = "check the network and --base-url",
                    forbidden = "the token lacks a scope: it needs user:read (or *)" }
    add("api", "fail", tostring(err), fixes[err.kind] or "see the message")
    return out
  end
  if not info.company then
    add("company", "warn", "no company set", "set --company or ANIMO_COMPANY")
  else
    local companies, cerr = client:companies()
    if not companies then
      add("company", "warn", "cannot list companies: " .. tostring(cerr), "the token needs companies:read to check this")
    else
      local ids = {}
      for _, c in ipairs(companies) do ids[#ids + 1] = c.id end
      local found = false
      for _, id in ipairs(ids) do found = found or id == info.company end
      if found then
        add("company", "ok", "company " .. info.company .. " is one of the token's companies")
      else
        add("company", "fail", ("company %s is not among the token's companies (%s)"):format(info.company,
          #ids > 0 and table.concat(ids, ", ") or "none"), "fix --company or ANIMO_COMPANY")
      end
    end
  end
  return out
end

return {
  summary = "check the setup and the API, and say what to fix",
  usage = "animo doctor [--json]",
  flags = { json = "bool" },
  help = "Prints versions, the CA source, proxy settings, the store, the access token (its\n" ..
         "scopes and expiry, never the token) and a live check of the API, each line ok,\n" ..
         "warn or fail with what to do. Exit status 0 when nothing fails.",
  example = "animo doctor --json",

  run = function(cli, opts, args)
    if args[1] then return cli.fail(cli.usage_error("doctor takes no argument")) end
    local results = checks(cli.client(opts))
    local failed = false
    for _, r in ipairs(results) do failed = failed or r.status == "fail" end
    if opts.json then
      cli.print_json{ ok = not failed, checks = cli.array(results) }
    else
      for _, r in ipairs(results) do
        print(("%-4s  %-8s  %s"):format(r.status, r.name, r.detail))
        if r.fix then print(("                %s"):format(r.fix)) end
      end
    end
    return failed and 1 or 0
  end,
}
