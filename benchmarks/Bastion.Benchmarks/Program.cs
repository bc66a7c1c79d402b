using BenchmarkDotNet.Running;
using Bastion.Benchmarks;

// Examples:
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- --filter '*' --job short
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- --list flat
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- visibility   (docs/benchmarks.md)
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- startup [timers] [tasks] [bastion.dll]   (docs/benchmarks.md)
if (args is ["visibility"])
{
    VisibilityHarness.Run();
    return;
}

if (args is ["startup", ..])
{
    await StartupHarness.RunAsync(args[1..]);
    return;
}

BenchmarkSwitcher.FromTypes([typeof(HistorySerializationBenchmarks), typeof(RecordCodecBenchmarks)]).Run(args);
