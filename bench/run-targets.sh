#!/usr/bin/env bash
# Runs every measurement quoted in docs/BENCHMARKS.md; JSON and logs go to ${OUT:-/tmp/buildstatus-bench}.
# Usage: bench/run-targets.sh [w1|bdn|all]   (default all). Takes ~25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/buildstatus-bench}
REPEAT=${REPEAT:-3}
mkdir -p "$OUT"
dotnet build -c Release bench/BuildStatus.Bench >/dev/null
dotnet build -c Release bench/BuildStatus.Benchmarks >/dev/null
W1="dotnet bench/BuildStatus.Bench/bin/Release/net10.0/BuildStatus.Bench.dll"
what=${1:-all}

if [[ $what == w1 || $what == all ]]; then
  for i in $(seq 1 "$REPEAT"); do
    $W1 --baseline --synchronous normal --json "$OUT/w1-normal-$i.json" > "$OUT/w1-normal-$i.log"
    $W1 --baseline --synchronous full --json "$OUT/w1-full-$i.json" > "$OUT/w1-full-$i.log"
    $W1 --concurrency 1 --query-iterations 200 --json "$OUT/w1-c1-$i.json" > "$OUT/w1-c1-$i.log"
    $W1 --concurrency 16 --query-iterations 200 --json "$OUT/w1-c16-$i.json" > "$OUT/w1-c16-$i.log"
    # The same with tiered compilation on (the runner turns it off for steady-state figures; see its .csproj).
    DOTNET_TieredCompilation=1 $W1 --baseline --json "$OUT/w1-tiered-$i.json" > "$OUT/w1-tiered-$i.log"
  done
  # Tiered compilation on, 20,000 builds: the JIT's work is amortized over a 10x longer write phase.
  DOTNET_TieredCompilation=1 $W1 --builds 20000 --baseline --query-iterations 200 --json "$OUT/w1-tiered-20000.json" > "$OUT/w1-tiered-20000.log"
  # Memory: a fresh process per size, so PeakWorkingSet64 is that run's.
  $W1 --builds 2000 --query-iterations 200 --json "$OUT/w1-mem-2000.json" > "$OUT/w1-mem-2000.log"
  $W1 --builds 20000 --query-iterations 200 --json "$OUT/w1-mem-20000.json" > "$OUT/w1-mem-20000.log"
  $W1 --builds 200000 --query-iterations 200 --json "$OUT/w1-mem-200000.json" > "$OUT/w1-mem-200000.log"   # ~3 min, 5 GB of temp file
fi

if [[ $what == bdn || $what == all ]]; then
  B="dotnet bench/BuildStatus.Benchmarks/bin/Release/net10.0/BuildStatus.Benchmarks.dll"
  $B --history-percentiles 1000000 10000 > "$OUT/history-p99.log"
  $B --history-filters 1000000 1000 > "$OUT/history-filters.log"
  # BenchmarkDotNet finds the project from the working directory (the repository root); artifacts go to
  # ./BenchmarkDotNet.Artifacts (ignored by git).
  $B --filter '*' > "$OUT/bdn.log"
fi
echo "results in $OUT"
