using BenchmarkDotNet.Running;
using Bastion.Benchmarks;

// Examples:
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- --filter '*' --job short
//   dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- --list flat
BenchmarkSwitcher.FromTypes([typeof(HistorySerializationBenchmarks), typeof(RecordCodecBenchmarks)]).Run(args);
