using Bastion.Cli;

ServerJitMode.Apply(args);
return await BastionCommand.InvokeAsync(args).ConfigureAwait(false);
