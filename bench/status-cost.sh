#!/usr/bin/env bash
# What the status page costs the service: its CPU time, read from
# /proc/PID/stat, over DURATION (default 20s) with no page open, then with
# PAGES (default 10) status streams open (curl reading /status/events, as
# many pages would), RUNS times (default 3); the service is otherwise idle,
# so the difference is the pages' cost. Loopback only; every process it
# starts is stopped by PID. NUMBERS names another service binary.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DURATION=${DURATION:-20}
PAGES=${PAGES:-10}
NUMBERS=${NUMBERS:-./bin/numbers}
make -s build
SVC=127.0.0.1:18280; ADMIN=127.0.0.1:18281
"$NUMBERS" -addr $SVC -admin $ADMIN 2>/dev/null & svc=$!
pages=()
trap 'kill $svc "${pages[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://$SVC/healthz" && break; sleep 0.1; done
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$svc/stat"; } # user + system, in ticks
# share prints the service's CPU over DURATION as a percentage of one core.
share() {
  local a b; a=$(cpu); sleep "$DURATION"; b=$(cpu)
  python3 -c "print(f'{100 * ($b - $a) / $tick / $DURATION:.2f}')"
}
for i in $(seq "$RUNS"); do
  idle=$(share)
  for _ in $(seq "$PAGES"); do curl -sN -o /dev/null "http://$ADMIN/status/events" & pages+=($!); done
  sleep 2 # the streams open and the sampler starts
  open=$(share)
  kill "${pages[@]}" 2>/dev/null; wait "${pages[@]}" 2>/dev/null; pages=()
  sleep 2 # the sampler stops with the last stream
  echo "run $i: no page ${idle}% of a core, $PAGES pages ${open}%"
done
