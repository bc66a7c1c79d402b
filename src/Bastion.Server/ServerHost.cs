using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Bastion.Server;

/// <summary>
/// The web host of Bastion's listeners, configured by Bastion's own options only. The framework's default builders read
/// <c>appsettings.json</c> from the working directory and <c>ASPNETCORE_*</c>/<c>DOTNET_*</c> variables, and watch the
/// working directory for changes: a stray <c>Kestrel:Endpoints</c> entry there would add a listener outside the
/// loopback and TLS rules, and the watcher woke on every write under the directory (the database's WAL included).
/// </summary>
public static class ServerHost
{
    public static WebApplicationBuilder CreateBuilder()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        return builder;
    }
}
