-- animo update — change a webhook's name, url or events.
return {
  summary = "change a stored webhook's name, url or events",
  usage = "animo update WEBHOOK [--name NEW_NAME] [--url URL] [--events E1,E2] [--json]",
  flags = { name = "value", url = "value", events = "list", json = "bool" },
  help = "WEBHOOK is an id or a name known to the store; its token comes from the store.\n" ..
         "Give at least one change. --json prints the updated webhook (without its token).",
  example = "animo update 'CRM sync' --url https://crm.example.com/v2/animo",

  run = function(cli, opts, args)
    if #args ~= 1 then return cli.fail(cli.usage_error("update needs exactly one WEBHOOK (an id or a name)")) end
    local changes = { name = opts.name, url = opts.url, events = opts.events }
    local wh, err = cli.client(opts):update(args[1], changes)
    if wh then
      if opts.json then
        cli.print_json(cli.webhook_table(wh))
      else
        local parts = {}
        if opts.name then parts[#parts + 1] = "name=" .. wh.name end
        if opts.url then parts[#parts + 1] = "url=" .. wh.url end
        if opts.events then parts[#parts + 1] = "events=" .. table.concat(wh.events, ",") end
        print(("updated %s (%s) %s"):format(wh.name, wh.id, table.concat(parts, " ")))
      end
    end
    if err then return cli.fail(err) end
    return 0
  end,
}
