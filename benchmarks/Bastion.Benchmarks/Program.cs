using BenchmarkDotNet.Running;
using Bastion.Benchmarks;

// Examples:
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- --filter '*' --job short
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- --list flat
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- visibility   (docs/benchmarks.md)
if (args is ["visibility"])
{
    VisibilityHarness.Run();
    return;
}

BenchmarkSwitcher.FromTypes([typeof(HistorySerializationBenchmarks), typeof(RecordCodecBenchmarks)]).Run(args);
