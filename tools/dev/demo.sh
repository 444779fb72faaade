#!/usr/bin/env bash
# make demo: two agents on loopback with their embedded brokers; SIGKILL the Active, watch the
# Passive take over, restart the killed one, and switch back with a planned become-primary.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-Release}
AGENT=agent/Appliance.Agent/bin/$CONFIG/net10.0/appliance-agent
CTL=tools/Appliance.Ctl/bin/$CONFIG/net10.0/appliancectl
DIR=$(mktemp -d /tmp/appliance-demo.XXXXXX)
declare -A API=([A]=18181 [B]=18182) BROKER=([A]=18831 [B]=18832) PID=()

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
role() { curl -s "127.0.0.1:${API[$1]}/UVMInterface/api/HighAvailability" 2>/dev/null || echo '(no answer)'; }
roles() { echo "  A: $(role A)   B: $(role B)"; }
start() {
  "$AGENT" --Appliance:DataDir="$DIR/$1" --Appliance:NodeName="$1" --Appliance:Api:SocketPath="$DIR/$1.sock" \
    --Appliance:Api:TcpPort="${API[$1]}" --Appliance:Ha:PeerLink:EmbeddedBroker:BindAddress=127.0.0.1 \
    --Appliance:Ha:PeerLink:EmbeddedBroker:Port="${BROKER[$1]}" >>"$DIR/$1.log" 2>&1 &
  PID[$1]=$!
  until curl -sf "127.0.0.1:${API[$1]}/check_health" >/dev/null 2>&1; do sleep 0.05; done
}
ctl() { local node=$1; shift; "$CTL" --socket "$DIR/$node.sock" "$@"; }
cleanup() { kill -9 "${PID[@]}" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

step "Start two agents (A: API ${API[A]}, broker ${BROKER[A]}; B: API ${API[B]}, broker ${BROKER[B]}); logs in $DIR"
start A; start B; roles

step "Pair them: one key file, 'ha establish' on both"
"$CTL" ha keygen "$DIR/pair.key"
ctl A ha establish --peer "127.0.0.1:${BROKER[B]}" --key-file "$DIR/pair.key"
ctl B ha establish --peer "127.0.0.1:${BROKER[A]}" --key-file "$DIR/pair.key"
until [[ "$(role A)$(role B)" == *Active* && "$(role A)$(role B)" == *Passive* ]]; do sleep 0.1; done
roles
if [[ "$(role A)" != *Active* ]]; then
  step "Make A the Active with a planned switch, so the demo starts from A Active / B Passive"
  ctl A ha become-primary
  until [[ "$(role A)" == *Active* && "$(role B)" == *Passive* ]]; do sleep 0.1; done
  roles
fi

step "SIGKILL A (the Active) and time B's takeover, as a load balancer sees it"
start_ns=$(date +%s%N)
kill -9 "${PID[A]}"
until [[ "$(role B)" == *Active* ]]; do sleep 0.002; done
end_ns=$(date +%s%N)
roles
echo "  failover: $(( (end_ns - start_ns) / 1000000 )) ms from SIGKILL to B answering Active"

step "Restart A: it rejoins as Passive (it never comes up Active next to an Active peer)"
start A
until [[ "$(role A)" == *Passive* ]]; do sleep 0.1; done
roles

step "Planned switch back: 'ha become-primary' on A (B releases first, then A promotes)"
ctl A ha become-primary
until [[ "$(role A)" == *Active* && "$(role B)" == *Passive* ]]; do sleep 0.05; done
roles

step "A's history"
ctl A history --limit 12
