-- animo detach — remove a webhook from Animo and from the store.
return {
  summary = "remove a stored webhook from Animo and the store",
  usage = "animo detach WEBHOOK [--json]",
  flags = { json = "bool" },
  help = "WEBHOOK is an id or a name known to the store.",
  example = "animo detach 'CRM sync'",

  run = function(cli, opts, args)
    if #args ~= 1 then return cli.fail(cli.usage_error("detach needs exactly one WEBHOOK (an id or a name)")) end
    local ok, err = cli.client(opts):detach(args[1])
    if not ok then return cli.fail(err) end
    if opts.json then
      cli.print_json{ detached = args[1] }
    else
      print(("detached %s"):format(args[1]))
    end
    return 0
  end,
}
