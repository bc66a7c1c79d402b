using System.CommandLine;
using System.Globalization;
using Bastion.Security.Authorization;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion operator grant|list|revoke</c>: an operator's time-limited access to one tenant namespace, on the
/// server's database file (only whoever can open that file, i.e. runs the deployment, can grant). A grant prints a
/// one-time API key bound to it; every call made with that key is audited as principal type Operator.
/// </summary>
internal static class OperatorCommand
{
    public static Command Create()
    {
        var command = new Command("operator", "Time-limited, audited operator access to a tenant namespace.");
        command.Subcommands.Add(GrantCommand());
        command.Subcommands.Add(ListCommand());
        command.Subcommands.Add(RevokeCommand());
        return command;
    }

    private static Command GrantCommand()
    {
        var database = new DatabaseOptions();
        var ns = new Option<string>("--namespace", "-n") { Description = "The namespace, as name.account.", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why (a ticket or incident reference); recorded with the grant.", Required = true };
        var duration = new Option<string>("--duration") { Description = "How long, at most 8h (e.g. 30m, 2h).", Required = true };
        var who = new Option<string>("--operator") { Description = "Who is asking (default: the OS user).", DefaultValueFactory = _ => Environment.UserName };
        var permission = new Option<string>("--permission") { Description = "read, write or admin.", DefaultValueFactory = _ => "read" };
        permission.AcceptOnlyFromAmong("read", "write", "admin");
        var command = new Command("grant", "Grant an operator access to one namespace for at most 8 hours; prints a one-time API key.")
        {
            ns, reason, duration, who, permission,
        };
        database.AddTo(command);
        command.SetAction((parse, _) => DatabaseFile.RunAsync(database, parse, async (namespaces, identities) =>
        {
            var length = DurationSyntax.Parse(parse.GetValue(duration)!, "--duration");
            var target = namespaces.Resolve(parse.GetValue(ns)!);
            var level = parse.GetValue(permission) switch
            {
                "admin" => Permission.NamespaceAdmin,
                "write" => Permission.NamespaceWrite,
                _ => Permission.NamespaceRead,
            };
            var (grant, token) = await identities.GrantOperatorAsync(target, parse.GetValue(who)!, parse.GetValue(reason)!, length, level).ConfigureAwait(false);
            Console.WriteLine($"Granted {grant.Operator} {parse.GetValue(permission)} on {grant.NamespaceName} until {Format(grant.ExpiryTime)} (grant {grant.Id}).");
            Console.WriteLine("Operator API key (shown once, not stored; use it as a Bearer API key on the shared host):");
            Console.WriteLine($"  {token}");
        }));
        return command;
    }

    private static Command ListCommand()
    {
        var database = new DatabaseOptions();
        var command = new Command("list", "List operator grants, current and past, newest first.");
        database.AddTo(command);
        command.SetAction((parse, _) => DatabaseFile.RunAsync(database, parse, (_, identities) =>
        {
            var now = DateTime.UtcNow;
            Console.WriteLine($"{"GRANT",-22} {"OPERATOR",-16} {"NAMESPACE",-28} {"PERMISSION",-14} {"UNTIL",-20} {"STATE",-8} REASON");
            foreach (var grant in identities.OperatorGrants())
            {
                Console.WriteLine($"{grant.Id,-22} {grant.Operator,-16} {grant.NamespaceName,-28} {grant.Permission,-14} {Format(grant.ExpiryTime),-20} {(grant.ExpiryTime > now ? "active" : "ended"),-8} {grant.Reason}");
            }

            return Task.CompletedTask;
        }));
        return command;
    }

    private static Command RevokeCommand()
    {
        var database = new DatabaseOptions();
        var grantId = new Option<string>("--grant-id") { Description = "The grant to end now.", Required = true };
        var command = new Command("revoke", "End a grant now; its key stops working within seconds.") { grantId };
        database.AddTo(command);
        command.SetAction((parse, _) => DatabaseFile.RunAsync(database, parse, async (_, identities) =>
        {
            var grant = await identities.RevokeOperatorGrantAsync(parse.GetValue(grantId)!).ConfigureAwait(false);
            Console.WriteLine($"Grant {grant.Id} of {grant.Operator} on {grant.NamespaceName} ended at {Format(grant.ExpiryTime)}.");
        }));
        return command;
    }

    private static string Format(DateTime time) => time.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
