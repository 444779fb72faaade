#!/usr/bin/env bash
# Boots the built image with systemd-nspawn -b (the image's systemd as PID 1) and checks the agent from
# INSIDE the running container: commands run in the container's namespaces via nsenter (there is no
# machined/system bus on the host, so machinectl / systemd-run -M cannot reach it).
#   Usage: images/test/image-test.sh [OUTDIR]      (default ./out; needs OUTDIR/rootfs; root only)
# Prints one PASS/FAIL line per check and exits non-zero if any check failed.
# The image is booted with --volatile=overlay (writes go to a tmpfs) and --private-network (its own
# loopback, so the agent's 127.0.0.1:8080 never collides with the host's), so the tree stays pristine.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../out}; OUT=$(cd "$OUT" && pwd)
ROOTFS=$OUT/rootfs
UNIT=appliance-agent.service
BOOT_LOG=$OUT/image-test-console.log
FAILS=0; PASSES=0

pass() { PASSES=$((PASSES+1)); echo "PASS: $*"; }
fail() { FAILS=$((FAILS+1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

[ "$(id -u)" -eq 0 ] || { echo "image-test.sh: must run as root (systemd-nspawn, nsenter)" >&2; exit 1; }
[ -x "$ROOTFS/opt/appliance/agent/appliance-agent" ] || { echo "image-test.sh: no image at $ROOTFS (run make image)" >&2; exit 1; }
for tool in systemd-nspawn nsenter script unshare; do
  command -v "$tool" >/dev/null || { echo "image-test.sh: $tool missing (apt-get install systemd-container util-linux bsdutils)" >&2; exit 1; }
done

# nspawn -b needs a TTY (without one the container's systemd exits at once): `script` provides a pty, also
# in CI with no stdin. The private mount namespace with a tmpfs on /run/systemd/nspawn is needed because
# /run is not a tmpfs on this host and nspawn refuses to clean up its propagation directory otherwise;
# --register=no --keep-unit because there is no systemd/machined on the host.
rm -f "$BOOT_LOG"
T_START=$(now_ms)
script -qfec "unshare -m --propagation private sh -c 'mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn && exec systemd-nspawn -q -D \"$ROOTFS\" --register=no --keep-unit --private-network --volatile=overlay -b'" \
  "$BOOT_LOG" </dev/null >/dev/null 2>&1 &
SCRIPT_PID=$!
cleanup() {
  if kill -0 "$SCRIPT_PID" 2>/dev/null; then
    # Last resort: SIGRTMIN+4 asks the container's systemd for a clean poweroff, then SIGKILL.
    [ -n "${CPID:-}" ] && kill -s RTMIN+4 "$CPID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$SCRIPT_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SCRIPT_PID" 2>/dev/null
    [ -n "${CPID:-}" ] && kill -KILL "$CPID" 2>/dev/null
  fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # runs the EXIT trap: the container is never left behind

# The container's PID 1 is the process named "systemd" below our `script`.
container_pid1() {
  ps -e -o pid=,ppid=,comm= | awk -v root="$SCRIPT_PID" '
    { parent[$1]=$2; comm[$1]=$3 }
    END { for (p in comm) if (comm[p]=="systemd") { q=p; while (q in parent && q!=root && q>1) q=parent[q]; if (q==root) { print p; exit } } }'
}
CPID=
for _ in $(seq 300); do CPID=$(container_pid1); [ -n "$CPID" ] && break; kill -0 "$SCRIPT_PID" 2>/dev/null || break; sleep 0.1; done
if [ -z "$CPID" ]; then fail "container booted (no systemd PID 1 found; console log $BOOT_LOG)"; tail -20 "$BOOT_LOG"; exit 1; fi

# Run a command inside the container (its mount/uts/ipc/net/pid namespaces and root), with a clean environment.
IN() { nsenter -t "$CPID" -m -u -i -n -p -r -w env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SYSTEMD_COLORS=0 "$@"; }
prop() { IN systemctl show "$UNIT" -p "$1" --value; }
# A systemd time span in whole seconds ("10s" -> 10); empty for anything else.
secs() { sed -n 's/^\([0-9]*\)s$/\1/p' <<<"$1"; }
is_running() { [ "$(prop ActiveState)/$(prop SubState)" = active/running ]; }

# --- boot ---------------------------------------------------------------------------------------
# systemctl needs the manager's private socket, which appears a moment after PID 1 starts.
for _ in $(seq 300); do IN test -S /run/systemd/private && break; sleep 0.1; done
STATE=$(IN timeout 60 systemctl is-system-running --wait 2>/dev/null)
T_BOOTED=$(now_ms)
FAILED_UNITS=$(IN systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
check "system boot finished: is-system-running=$STATE${FAILED_UNITS:+ (failed: $FAILED_UNITS)}" [ "$STATE" = running ]

# --- READY through sd_notify ----------------------------------------------------------------------
# Type=notify: the unit is only active once the agent itself sent READY=1 (NotifyAccess=main).
for _ in $(seq 300); do [ "$(prop ActiveState)" = activating ] || break; sleep 0.1; done
SHOW=$(IN systemctl show "$UNIT" -p Type,NotifyAccess,ActiveState,SubState,StatusText,WatchdogUSec,MainPID,NRestarts)
echo "$SHOW" | sed 's/^/      /'
check "agent unit Type=notify NotifyAccess=main as loaded by systemd" [ "$(prop Type)/$(prop NotifyAccess)" = notify/main ]
check "agent active (running): READY=1 received" is_running
check "agent STATUS= text reported: '$(prop StatusText)'" [ -n "$(prop StatusText)" ]

# Everything below needs a running agent; without one, say so once and go straight to the shutdown.
if is_running; then
USERSPACE_US=$(IN systemctl show -p UserspaceTimestampMonotonic --value)
EXEC_US=$(prop ExecMainStartTimestampMonotonic)
READY_US=$(prop ActiveEnterTimestampMonotonic)
if [ "${READY_US:-0}" -gt 0 ] && [ "${USERSPACE_US:-0}" -gt 0 ]; then
  echo "      boot-to-READY: $(( (READY_US-USERSPACE_US)/1000 )) ms from the container's PID 1 start," \
       "$(( (READY_US-EXEC_US)/1000 )) ms from the agent's exec; host: nspawn start -> boot finished $(( T_BOOTED-T_START )) ms"
fi

# --- watchdog armed and fed -------------------------------------------------------------------------
WD=$(prop WatchdogUSec); WD_SEC=$(secs "$WD")
check "watchdog armed: WatchdogUSec=$WD" [ "${WD_SEC:-0}" -gt 0 ]
MAIN=$(prop MainPID)
check "agent got WATCHDOG_USEC in its environment" IN grep -qz '^WATCHDOG_USEC=[1-9]' "/proc/$MAIN/environ"
# The first ping comes half an interval after READY; measure between two pings after it.
for _ in $(seq $(( ${WD_SEC:-10} * 10 ))); do [ "$(prop WatchdogTimestampMonotonic)" -gt 0 ] && break; sleep 0.1; done
PING1=$(prop WatchdogTimestampMonotonic); sleep $(( ${WD_SEC:-10} / 2 + 1 )); PING2=$(prop WatchdogTimestampMonotonic)
check "agent keeps feeding the watchdog (last ping advanced $(( (PING2-PING1)/1000 )) ms in $(( ${WD_SEC:-10} / 2 + 1 )) s)" $([ "${PING1:-0}" -gt 0 ] && [ "${PING2:-0}" -gt "$PING1" ] && echo true || echo false)

# Waits until the unit runs again with a MainPID other than $1; echoes the elapsed ms or nothing.
wait_restarted() {
  local old=$1 limit_ms=$2 t0; t0=$(now_ms)
  while [ $(( $(now_ms)-t0 )) -lt "$limit_ms" ]; do
    local pid; pid=$(prop MainPID)
    if [ "$pid" != "$old" ] && [ "$pid" != 0 ] && is_running; then echo $(( $(now_ms)-t0 )); return 0; fi
    sleep 0.2
  done
  return 1
}

# --- a hung agent is killed by the watchdog and restarted ------------------------------------------
RESTARTS=$(prop NRestarts); MAIN=$(prop MainPID)
[ "${MAIN:-0}" -gt 1 ] && IN sh -c "kill -STOP $MAIN"   # never "kill 0": that would stop our own shell
# Budget, from the loaded unit: WatchdogSec, then TimeoutAbortSec (a stopped process ignores SIGABRT until
# SIGKILL), RestartSec, plus 15 s for the agent's own start-up on a loaded machine.
ABORT_SEC=$(secs "$(prop TimeoutAbortUSec)"); RESTART_SEC=$(secs "$(prop RestartUSec)")
LIMIT_MS=$(( (${WD_SEC:-10} + ${ABORT_SEC:-90} + ${RESTART_SEC:-0} + 15) * 1000 ))
if ELAPSED=$(wait_restarted "$MAIN" "$LIMIT_MS"); then
  pass "hung agent (SIGSTOP) restarted by the watchdog after $ELAPSED ms (WatchdogSec=${WD_SEC}s), new MainPID $(prop MainPID)"
else
  fail "hung agent (SIGSTOP pid $MAIN) not restarted within $LIMIT_MS ms: $(prop ActiveState)/$(prop SubState) MainPID=$(prop MainPID)"
fi
check "NRestarts incremented after the hang ($RESTARTS -> $(prop NRestarts))" [ "$(prop NRestarts)" -gt "$RESTARTS" ]
check "systemd logged the watchdog timeout" IN sh -c "journalctl -u $UNIT --no-pager -o cat | grep -q 'Watchdog timeout'"
IN journalctl -u "$UNIT" _PID=1 --no-pager -o short-monotonic | grep -E 'Watchdog|Killing|exited|dumped|Scheduled' | sed 's/^/      /'

# --- a crashed agent is restarted by Restart=on-failure -------------------------------------------
RESTARTS=$(prop NRestarts); MAIN=$(prop MainPID)
[ "${MAIN:-0}" -gt 1 ] && IN sh -c "kill -KILL $MAIN"
if ELAPSED=$(wait_restarted "$MAIN" 20000); then
  pass "SIGKILLed agent restarted after $ELAPSED ms (Restart=on-failure), new MainPID $(prop MainPID)"
else
  fail "SIGKILLed agent (pid $MAIN) not restarted within 20 s: $(prop ActiveState)/$(prop SubState)"
fi
check "NRestarts incremented after the crash ($RESTARTS -> $(prop NRestarts))" [ "$(prop NRestarts)" -gt "$RESTARTS" ]

# --- local API: Unix socket for appliancectl, TCP for load balancers --------------------------------
SOCKET=$(IN sed -n 's/.*"SocketPath": *"\([^"]*\)".*/\1/p' /etc/appliance/agent.json); SOCKET=${SOCKET:-/run/appliance/agent.sock}
check "socket $SOCKET is srw-rw---- root:root ($(IN stat -c '%A %U:%G' "$SOCKET" 2>&1))" [ "$(IN stat -c '%A %U:%G' "$SOCKET" 2>/dev/null)" = "srw-rw---- root:root" ]
CTL_OUT=$(IN timeout 20 appliancectl status 2>&1); CTL_RC=$?
echo "$CTL_OUT" | head -8 | sed 's/^/      /'
check "appliancectl status as root: exit 0 with output" $([ "$CTL_RC" -eq 0 ] && [ -n "$CTL_OUT" ] && echo true || echo false)
IN sh -c 'id appliance-test >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin appliance-test'
USER_OUT=$(IN timeout 20 setpriv --reuid=appliance-test --regid=appliance-test --clear-groups --inh-caps=-all --bounding-set=-all appliancectl status 2>&1); USER_RC=$?
check "appliancectl status as an unprivileged user refused (exit $USER_RC: $(echo "$USER_OUT" | head -1))" $([ "$USER_RC" -eq 1 ] || [ "$USER_RC" -eq 3 ] && echo true || echo false)

TCP_ADDR=$(IN sed -n 's/.*"TcpAddress": *"\([^"]*\)".*/\1/p' /etc/appliance/agent.json); TCP_ADDR=${TCP_ADDR:-127.0.0.1}
TCP_PORT=$(IN sed -n 's/.*"TcpPort": *\([0-9]*\).*/\1/p' /etc/appliance/agent.json); TCP_PORT=${TCP_PORT:-8080}
http_get() { IN timeout 10 bash -c "exec 3<>/dev/tcp/$TCP_ADDR/$TCP_PORT && printf 'GET %s HTTP/1.1\r\nHost: appliance\r\nConnection: close\r\n\r\n' '$1' >&3 && cat <&3"; }
HEALTH=$(http_get /check_health | tr -d '\r')
check "GET http://$TCP_ADDR:$TCP_PORT/check_health -> $(echo "$HEALTH" | head -1)" grep -q '^HTTP/1.1 200' <<<"$HEALTH"
HA=$(http_get /UVMInterface/api/HighAvailability | tr -d '\r')
check "GET /UVMInterface/api/HighAvailability -> $(grep -o '"Role":[^,}]*' <<<"$HA")" grep -q '"Role": *"Off"' <<<"$HA"

# --- journal: the agent's own lines carry syslog priorities ----------------------------------------
JSON=$(IN journalctl _SYSTEMD_UNIT="$UNIT" -o json --no-pager --output-fields=PRIORITY,MESSAGE)
LINES=$(grep -c '"MESSAGE"' <<<"$JSON")
PRIOS=$(grep -o '"PRIORITY":"[0-7]"' <<<"$JSON" | sort | uniq -c | awk '{gsub(/[^0-9]/,"",$2); printf "%s:%s ", $2, $1}')
check "journal has $LINES agent lines with priorities (priority:count ${PRIOS% })" $([ "$LINES" -gt 0 ] && [ "$(grep -c '"PRIORITY":"[0-7]"' <<<"$JSON")" -eq "$LINES" ] && echo true || echo false)
# journald gives every plain stdout line PRIORITY 6, so the level only counts if the agent wrote the
# systemd "<N>" prefix and journald consumed it: no leftover prefix and no default "info: " formatter.
RAW=$(grep -cE '"MESSAGE":"(<[0-7]>|(info|warn|fail|crit|dbug|trce): )' <<<"$JSON")
check "agent logs in the systemd format (lines left with a raw level prefix: $RAW)" [ "$RAW" -eq 0 ]


# --- managed services: what "Active" means on the box -------------------------------------------------
# The agent is reconfigured (a unit drop-in with APPLIANCE__ variables) to manage a stand-in workload,
# paired with a second agent run in the container as a transient unit on loopback (own broker, socket,
# port, data dir), made Active, SIGKILLed, and watched as it comes back Passive. The peer manages nothing
# and gets its own drop-in directory and stop list: an agent removes the ones it does not manage, and two
# agents on one host are only a test set-up.
MANAGED=appliance-test-managed.service
PEER=appliance-peer.service; PEER_SOCKET=/run/appliance-peer.sock; PEER_PORT=8081
T_MANAGED=$(now_ms)
role_at() { IN timeout 10 bash -c "exec 3<>/dev/tcp/$TCP_ADDR/$1 && printf 'GET /UVMInterface/api/HighAvailability HTTP/1.1\r\nHost: appliance\r\nConnection: close\r\n\r\n' >&3 && cat <&3" 2>/dev/null | grep -o '"Role": *"[A-Za-z]*"' | grep -o '[A-Z][a-z]*"$' | tr -d '"'; }
# Polls "$@" every 0.2 s for at most $1 ms; echoes the elapsed ms on success.
within() { local limit=$1 t0; shift; t0=$(now_ms); while [ $(( $(now_ms)-t0 )) -lt "$limit" ]; do "$@" && { echo $(( $(now_ms)-t0 )); return 0; }; sleep 0.2; done; return 1; }
holds() { within "$@" >/dev/null; }
managed_is() { [ "$(IN systemctl is-active "$MANAGED")" = "$1" ]; }
role_is() { [ "$(role_at "$1")" = "$2" ]; }

IN sh -c "cat > /etc/systemd/system/$MANAGED" <"$HERE/$MANAGED"
IN mkdir -p "/etc/systemd/system/$UNIT.d"
IN sh -c "cat > /etc/systemd/system/$UNIT.d/50-image-test.conf" <"$HERE/agent-managed-services.conf"
IN systemctl daemon-reload
IN timeout 60 systemctl restart "$UNIT"
check "agent restarted managing $MANAGED (its start installed the binding and stopped the unit)" is_running
is_running || IN journalctl -u "$UNIT" --no-pager -o cat -n 15 | sed 's/^/      /'
BINDING=$(IN systemctl show "$MANAGED" -p BindsTo -p PartOf -p DropInPaths)
echo "$BINDING" | sed 's/^/      /'
check "BindsTo=$UNIT drop-in installed by the agent in /run/systemd/system" \
  $(grep -qx "BindsTo=$UNIT" <<<"$BINDING" && grep -q "/run/systemd/system/$MANAGED.d/50-appliance-agent.conf" <<<"$BINDING" && echo true || echo false)
# BindsTo= does not fire while systemd waits to restart a crashed agent (that state counts as activating),
# so the agent's unit also has an ExecStopPost= that stops the units the agent lists in /run/appliance.
STOP_LIST=$(IN cat /run/appliance/managed-units 2>&1)
echo "      ExecStopPost: $(prop ExecStopPost | grep -o 'argv\[\]=[^;]*')"
check "the agent listed the unit for its unit's ExecStopPost= (/run/appliance/managed-units: $STOP_LIST)" [ "$STOP_LIST" = "$MANAGED" ]

IN systemd-run --quiet --unit="$PEER" /opt/appliance/agent/appliance-agent --Appliance:NodeName=peer \
  --Appliance:DataDir=/var/lib/appliance-peer --Appliance:Api:SocketPath="$PEER_SOCKET" --Appliance:Api:TcpPort="$PEER_PORT" \
  --Appliance:Ha:PeerLink:EmbeddedBroker:BindAddress=127.0.0.1 --Appliance:Ha:PeerLink:EmbeddedBroker:Port=1884 \
  --Appliance:Ha:Services:DropInDirectory=/run/appliance-peer.d --Appliance:Ha:Services:StopListPath=/run/appliance-peer.units
holds 30000 IN test -S "$PEER_SOCKET"
IN appliancectl ha keygen /root/pair.key >/dev/null
PAIR_OUT=$( { IN timeout 30 appliancectl ha establish --peer 127.0.0.1:1884 --key-file /root/pair.key &&
  IN timeout 30 appliancectl --socket "$PEER_SOCKET" ha establish --peer 127.0.0.1:1883 --key-file /root/pair.key; } 2>&1); PAIR_RC=$?
echo "$PAIR_OUT" | sed 's/^/      /'
pair_settled() { local a b; a=$(role_at "$TCP_PORT"); b=$(role_at "$PEER_PORT"); [ "$a$b" = ActivePassive ] || [ "$a$b" = PassiveActive ]; }
holds 30000 pair_settled
[ "$(role_at "$TCP_PORT")" = Passive ] && IN timeout 30 appliancectl ha become-primary | sed 's/^/      /'
if ELAPSED=$(within 30000 role_is "$TCP_PORT" Active); then
  pass "paired with a second agent in the container (establish exit $PAIR_RC) and Active"
else
  fail "agent not Active after pairing (establish exit $PAIR_RC): agent $(role_at "$TCP_PORT"), peer $(role_at "$PEER_PORT")"
fi
check "managed unit running on the Active (started by the promotion)" holds 10000 managed_is active
# systemd unloads an inactive unit nobody references, and its timestamps with it: times come from PID 1's journal.
pid1_at() { IN journalctl _PID=1 -o short-monotonic --no-pager | grep -F "$1" | tail -1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'; }
starts() { IN journalctl _PID=1 -o cat --no-pager | grep -c "^Started $MANAGED"; }
STARTS=$(starts)

# SIGKILL: the agent gets no chance to stop anything; systemd must take the unit down (ExecStopPost=).
BEFORE_KILL=$(IN systemctl is-active "$MANAGED"); MAIN=$(prop MainPID)
[ "${MAIN:-0}" -gt 1 ] && IN sh -c "kill -KILL $MAIN"
if [ "$BEFORE_KILL" = active ] && ELAPSED=$(within 10000 managed_is inactive); then
  pass "SIGKILLed Active agent: systemd stopped the managed unit after $ELAPSED ms"
else
  fail "SIGKILLed Active agent: managed unit $BEFORE_KILL before the kill, $(IN systemctl is-active "$MANAGED") 10 s after"
fi
wait_restarted "$MAIN" 20000 >/dev/null
STOPPED_AT=$(pid1_at "Stopped $MANAGED"); RESTART_AT=$(pid1_at "Starting $UNIT")
check "...by systemd itself (ExecStopPost=): unit stopped at ${STOPPED_AT:-?} s, before the new agent's start at ${RESTART_AT:-?} s" \
  awk -v stopped="${STOPPED_AT:-0}" -v restart="${RESTART_AT:-0}" 'BEGIN { exit !(stopped > 0 && stopped < restart) }'
holds 20000 role_is "$PEER_PORT" Active
holds 20000 role_is "$TCP_PORT" Passive
sleep 3   # several stray-check intervals on the Passive: the unit must not come back by itself
check "restarted agent Passive (peer took over: $(role_at "$PEER_PORT")), managed unit stayed stopped ($(IN systemctl is-active "$MANAGED"), never started again)" \
  $([ "$(role_at "$TCP_PORT")" = Passive ] && managed_is inactive && [ "$(starts)" = "$STARTS" ] && echo true || echo false)

# Started by hand on the Passive: the periodic check (2 s here) stops it and records why.
IN systemctl start "$MANAGED"
if ELAPSED=$(within 15000 managed_is inactive); then
  pass "managed unit started by hand on the Passive stopped by the agent after $ELAPSED ms"
else
  fail "managed unit started by hand on the Passive still $(IN systemctl is-active "$MANAGED") after 15 s"
fi
check "history records it: cause 'stray service stopped on Passive'" \
  IN sh -c "timeout 20 appliancectl history --limit 20 --json | grep -q 'stray service stopped on Passive'"

# Back to Active with a planned switch: the restarted agent starts the unit again.
IN timeout 30 appliancectl ha become-primary >/dev/null
check "planned switch back: agent Active again and the managed unit running" \
  $(holds 30000 role_is "$TCP_PORT" Active && holds 10000 managed_is active && echo true || echo false)
IN systemctl stop "$PEER"
echo "      managed-services checks: $(( ($(now_ms)-T_MANAGED)/1000 )) s"

else
  fail "agent not running ($(prop ActiveState)/$(prop SubState), NRestarts=$(prop NRestarts)): watchdog, restart, API and journal checks not run"
  IN journalctl -u "$UNIT" --no-pager -o cat -n 15 | sed 's/^/      /'
fi

# --- graceful stop, then poweroff -------------------------------------------------------------------
T0=$(now_ms); IN systemctl stop "$UNIT"; STOP_MS=$(( $(now_ms)-T0 ))
check "agent stopped gracefully in $STOP_MS ms (Result=$(prop Result), not killed by TimeoutStopSec)" $([ "$(prop Result)" = success ] && [ "$STOP_MS" -le 5000 ] && echo true || echo false)

T0=$(now_ms); IN systemctl poweroff --no-block
for _ in $(seq 300); do kill -0 "$SCRIPT_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SCRIPT_PID" 2>/dev/null; then
  fail "container did not power off within 30 s"
else
  wait "$SCRIPT_PID"; RC=$?
  check "container powered off cleanly in $(( $(now_ms)-T0 )) ms (nspawn exit $RC)" [ "$RC" -eq 0 ]
fi

echo "image-test: $PASSES passed, $FAILS failed (total $(( ($(now_ms)-T_START)/1000 )) s; console log $BOOT_LOG)"
[ "$FAILS" -eq 0 ]
