-- animo list — the webhooks in the store (no network call).
return {
  summary = "list the webhooks in the store for this base URL and company",
  usage = "animo list [--json]",
  flags = { json = "bool" },
  help = "Reads the token store only. A webhook whose attach did not finish shows the\n" ..
         "status \"outcome unknown\" and what to do about it.",
  example = "animo list --company c9Xk2",

  run = function(cli, opts, args)
    if args[1] then return cli.fail(cli.usage_error("list takes no argument")) end
    local client = cli.client(opts)
    local list, err = client:webhooks()
    if not list then return cli.fail(err) end
    if opts.json then
      local out = {}
      for i, wh in ipairs(list) do out[i] = cli.webhook_table(wh) end
      cli.print_json(cli.array(out))
      return 0
    end
    if not list[1] then
      print("no webhooks in the store for company " .. client.company)
      return 0
    end
    local rows = { { "NAME", "ID", "EVENTS", "URL", "STATUS" } }
    for _, wh in ipairs(list) do
      rows[#rows + 1] = { wh.name, wh.id or "-", table.concat(wh.events, ","), wh.url or "-", wh.status }
    end
    cli.print_table(rows)
    for _, wh in ipairs(list) do
      if wh.note then print(("\n%s: %s"):format(wh.name, wh.note)) end
    end
    return 0
  end,
}
