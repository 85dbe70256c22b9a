#!/usr/bin/env bash
# Rewrites each src project's PublicAPI.Unshipped.txt from the analyzer's findings:
# adds symbols reported by RS0016 (public but undeclared), drops those reported by RS0017 (declared but gone).
# Run after changing public API; review the diff of the .txt files like any other change.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for proj in src/*/; do
  name=$(basename "$proj")
  [ -f "$proj/$name.csproj" ] || continue
  dotnet build "$proj/$name.csproj" -p:TreatWarningsAsErrors=false --no-incremental >"$log" 2>&1 || true
  python3 - "$proj" "$log" <<'PY'
import re, sys
proj, log = sys.argv[1], sys.argv[2]
text = open(log).read()
unshipped = proj + "PublicAPI.Unshipped.txt"
lines = open(unshipped).read().splitlines()
header = [l for l in lines if l.startswith("#")] or ["#nullable enable"]
body = set(l for l in lines if l and not l.startswith("#"))
# Only this project's own findings (a referenced project reports its own).
own = [l for l in text.splitlines() if ("/" + proj.rstrip("/") + "/") in l]
added = set(re.findall(r"RS0016: Symbol '(.+?)' is not part of the declared public API", "\n".join(own)))
removed = set(re.findall(r"RS0017: Symbol '(.+?)' is part of the declared API", "\n".join(own)))
body = (body | added) - removed
open(unshipped, "w").write("\n".join(header + sorted(body)) + "\n")
print(f"{proj}: +{len(added)} -{len(removed)}")
PY
done
