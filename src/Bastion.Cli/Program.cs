using Bastion.Cli;

return await BastionCommand.Create().Parse(args).InvokeAsync().ConfigureAwait(false);
