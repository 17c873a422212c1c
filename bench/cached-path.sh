#!/usr/bin/env bash
# The cached path against a bare fasthttp server: wrk -t1 -c64, closed loop,
# 4 instant upstreams whose answers are fresh for an hour, the same 4 URLs on
# every request, so that every answer comes from the cache. The bare server
# (bench -serve-bare) answers the very body the service answers, with no
# work at all: the ratio is what the service's own request path costs. The
# two are measured in turn, RUNS times (default 3), DURATION each (default
# 10s), and each ratio is taken within one pair: the bare server's figure
# moves by half from run to run. Nothing is pinned. Loopback only; every
# process it starts is stopped by PID. NUMBERS names another service binary.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
NUMBERS=${NUMBERS:-./bin/numbers} # the service binary measured
CC=${CC-max-age%3D3600}           # the upstreams' Cache-Control, URL-encoded; empty: none, every answer fetched live
command -v wrk >/dev/null || { echo "cached-path: wrk is needed: apt-get install -y wrk" >&2; exit 1; }
make -s build
SIM=127.0.0.1:18190; SVC=127.0.0.1:18180; BARE=127.0.0.1:18170
./bin/simulator -addr $SIM 2>/dev/null & sim=$!
"$NUMBERS" -addr $SVC -admin 127.0.0.1:0 2>/dev/null & svc=$!
trap 'kill $sim $svc ${bare:-} 2>/dev/null; wait 2>/dev/null' EXIT
q=""
[ -n "$CC" ] && q="%26cc=$CC"
U="http://$SVC/numbers?u=http://$SIM/numbers?n=20%26max=1000$q&u=http://$SIM/numbers?n=20%26max=1001$q&u=http://$SIM/numbers?n=20%26max=1002$q&u=http://$SIM/numbers?n=20%26max=1003$q"
for _ in $(seq 50); do curl -sf -o /dev/null "http://$SVC/healthz" && break; sleep 0.1; done
body=$(mktemp); curl -sf "$U" -o "$body" || { echo "cached-path: the service did not answer" >&2; exit 1; }
curl -sf "$U" -o "$body" # the second answer: every upstream cached
./bin/bench -serve-bare $BARE -bare-body "$body" 2>/dev/null & bare=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://$BARE/" && break; sleep 0.1; done
rps() { wrk -t1 -c64 -d"$DURATION" "$1" | awk '/Requests\/sec/ {print $2}'; }
ratios=()
for i in $(seq "$RUNS"); do
  b=$(rps "http://$BARE/numbers"); s=$(rps "$U")
  r=$(python3 -c "print(f'{$s/$b:.3f}')")
  ratios+=("$r")
  echo "run $i: bare $b req/s, numbers $s req/s, ratio $r"
done
python3 -c "import statistics,sys; print('median ratio', statistics.median(map(float, sys.argv[1:])))" "${ratios[@]}"
rm -f "$body"
