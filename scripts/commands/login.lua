-- animo login — save an access token in the store (read from stdin).
return {
  summary = "save an access token, read from standard input, in the store",
  usage = "animo login",
  flags = {},
  help = "Reads the token from standard input (never from the command line, where other\n" ..
         "users could see it) and saves it for this base URL. Clients with no token\n" ..
         "option and no ANIMO_TOKEN use it.",
  example = "animo login < token.txt",

  run = function(cli, opts, args)
    if args[1] then return cli.fail(cli.usage_error("login reads the token from standard input, not from arguments")) end
    local line = io.read("l")
    local token = line and line:match("^%s*(.-)%s*$") or ""
    if token == "" then return cli.fail(cli.usage_error("no access token on standard input")) end
    local client = cli.client(opts)
    local ok, err = client:login(token)
    if not ok then return cli.fail(err) end
    print(("saved the access token for %s"):format(client.base_url))
    return 0
  end,
}
