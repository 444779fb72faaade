#!/usr/bin/env bash
# Publishes appliance-agent and appliancectl self-contained for linux-x64 (no SDK or shared runtime
# needed on the target) into OUT/agent and OUT/ctl. Shared by install.sh and build-image.sh so the
# installed host and the OS image run byte-identical builds.
# Usage: images/publish.sh OUTDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: publish.sh OUTDIR}
DOTNET=${DOTNET:-dotnet}
RID=${RID:-linux-x64}
COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

rm -rf "$OUT/agent" "$OUT/ctl"
# InvariantGlobalization: the appliance ships no libicu (≈35 MB) and the agent formats with the
# invariant culture anyway. SourceRevisionId stamps the commit into the informational version.
# The agent is trimmed (framework assemblies only) and ReadyToRun: each loaded assembly is nearly all
# resident, so smaller assemblies and no JIT are most of its steady RSS (docs/performance.md).
# ErrorsOnly: compiler warnings are errors anyway; ILLink's are about framework code nothing loads.
for spec in "agent/Appliance.Agent:agent:-p:PublishTrimmed=true -p:PublishReadyToRun=true" "tools/Appliance.Ctl:ctl:"; do
  IFS=: read -r project dir extra <<<"$spec"
  # shellcheck disable=SC2086 # $extra is a list of MSBuild properties
  "$DOTNET" publish "$ROOT/$project" -c Release -r "$RID" --self-contained true \
    -p:InvariantGlobalization=true -p:SourceRevisionId="$COMMIT" -p:DebugType=none $extra \
    -o "$OUT/$dir" -nologo -v quiet -clp:ErrorsOnly
done
echo "published agent + ctl ($RID, self-contained, commit $COMMIT) to $OUT: $(du -sh "$OUT/agent" | cut -f1) + $(du -sh "$OUT/ctl" | cut -f1)"
