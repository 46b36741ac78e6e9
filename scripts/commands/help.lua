-- animo help — what each command does, with an example.
return {
  summary = "show this help, or a command's",
  usage = "animo help [COMMAND]",
  flags = {},
  help = "Without COMMAND, lists the commands; with one, shows its usage and an example.",
  example = "animo help sync",

  run = function(cli, _, args)
    local name = args[1]
    if args[2] then return cli.fail(cli.usage_error("help takes at most one COMMAND")) end
    if name then
      if not cli.is_command(name) then return cli.fail(cli.usage_error(("no command %q: try animo help"):format(name))) end
      local cmd = cli.load(name)
      print(("usage: %s\n\n%s\n\n%s\n\nExample:\n  %s"):format(cmd.usage, cmd.summary, cmd.help, cmd.example))
      print("\n" .. cli.SETTINGS_HELP)
      return 0
    end
    print("usage: animo COMMAND [flags]   or   animo SCRIPT.lua [args]   or   animo -e CODE\n")
    print("Commands:")
    for _, n in ipairs(cli.NAMES) do
      print(("  %-7s %s"):format(n, cli.load(n).summary))
    end
    print("\nExamples:")
    for _, n in ipairs(cli.NAMES) do
      print("  " .. cli.load(n).example)
    end
    print("\n" .. cli.SETTINGS_HELP)
    print("Exit status: 0 success, 1 API, network or store error, 2 usage error.")
    return 0
  end,
}
