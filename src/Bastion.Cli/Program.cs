using Bastion.Cli;

return await BastionCommand.InvokeAsync(args).ConfigureAwait(false);
