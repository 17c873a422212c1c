#!/usr/bin/env bash
# Caching and coalescing figures (README, Performance): the classic scenario at
# 500 req/s for 10 s against the service with caching and coalescing on and off.
# The service runs pinned to CPU 1 with GOMAXPROCS=1; simulator and generator on
# CPU 0. Loopback only; every process it starts is stopped by PID.
set -u
cd "$(dirname "$0")/.."
make -s build
S=http://127.0.0.1:18090
run() { # name, service flags, query suffix
  name=$1; flags=$2; q=$3
  taskset -c 0 ./bin/simulator -addr 127.0.0.1:18090 2>/dev/null & sim=$!
  GOMAXPROCS=1 taskset -c 1 ./bin/numbers -addr 127.0.0.1:18080 -admin 127.0.0.1:16060 $flags 2>/dev/null & svc=$!
  sleep 1
  U="http://127.0.0.1:18080/numbers?u=$S/primes$q&u=$S/fibo$q&u=$S/odd$q&u=$S/rand$q"
  for pass in cold warm; do
    curl -s "$S/stats/reset" >/dev/null
    line=$(taskset -c 0 ./bin/bench -target "$U" -rate 500 -duration 10s -json 2>/dev/null)
    up=$(curl -s "$S/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
    echo "$line" | python3 -c '
import json,sys
name,pas,up=sys.argv[1],sys.argv[2],int(sys.argv[3])
d=json.load(sys.stdin)
r=d["runs"][0]["result"] if "runs" in d else d
o=r["outcomes"]; tot=sum(v for k,v in o.items() if k!="invalid")
contrib=(o.get("ok",0)+o.get("cached",0)+o.get("stale",0))/tot
late,sl,cp=r["late"],r["server_late"],r["completeness"]
print(f"{name:36s} {pas:4s} late={late:3d} srv_late={sl} complete={cp:.3f} contributed={contrib:.3f} upstream_req/s={up/10:.0f} outcomes={o}")
' "$name" "$pass" "$up"
  done
  kill $svc $sim; wait $svc $sim 2>/dev/null
}
run "all off"                "-cache-bytes off -coalesce=false" ""
run "coalescing only"        "-cache-bytes off" ""
run "defaults (cache+coal+late)" "" ""
run "defaults, max-age=1"    "" "?cc=max-age%3D1"
run "cache+late, no coalesce, max-age=1" "-coalesce=false" "?cc=max-age%3D1"
