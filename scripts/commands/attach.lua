-- animo attach — attach a webhook and keep its token in the store.
local animo = require "animo"

return {
  summary = "attach a webhook; its token goes to the store",
  usage = "animo attach --name NAME --url URL --events E1,E2 [--json]",
  flags = { name = "value", url = "value", events = "list", json = "bool" },
  help = "Creates the webhook in Animo. Animo shows its token only once: animo saves it\n" ..
         "in the token store, so `update` and `detach` can find it by name later.\n" ..
         "--json prints the server's webhook object, token included.\n" ..
         "Events: " .. table.concat(animo.events, ", ") .. ".",
  example = "animo attach --name 'CRM sync' --url https://crm.example.com/animo --events lead-created,lead-updated",

  run = function(cli, opts, args)
    if args[1] then return cli.fail(cli.usage_error("attach takes no argument: use --name, --url, --events")) end
    local client = cli.client(opts)
    local wh, err = client:attach{ name = opts.name, url = opts.url, events = opts.events }
    if wh then  -- err here means created but not saved: show it all
      if opts.json then
        cli.print_json(cli.webhook_table(wh, true))
      else
        print(("attached %s (%s) events=%s url=%s"):format(wh.name, wh.id, table.concat(wh.events, ","), wh.url))
      end
    end
    if err then return cli.fail(err) end
    return 0
  end,
}
