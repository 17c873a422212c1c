#!/usr/bin/env bash
# Replica figures (README, Replicas sharing Redis): make cluster's set-up
# (scripts/cluster: redis-server, replicas, HAProxy round-robin, simulator),
# all sharing the machine's CPUs with the generator. Loopback only; the
# cluster is stopped by its script's PID, which stops what it started.
#   bench/replicas.sh complete    classic at 300 req/s, 3 replicas, without and with -redis, cold then warm
#   bench/replicas.sh throughput  4 instant upstreams, 1 and 3 replicas behind HAProxy, rising rates
set -u
cd "$(dirname "$0")/.."
make -s build
S=http://127.0.0.1:8090
up() { # start the cluster with the environment given, wait for HAProxy
  env "$@" scripts/cluster 2>/dev/null & cl=$!
  for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:8080/readyz && break; sleep 0.1; done
  sleep 1 # every replica passes its first health check
}
down() { kill -TERM $cl; wait $cl 2>/dev/null; } # background jobs ignore SIGINT
attack() { # name, target, rate, duration
  curl -s "$S/stats/reset" >/dev/null
  line=$(./bin/bench -target "$2" -rate "$3" -duration "$4" -json 2>/dev/null)
  upreq=$(curl -s "$S/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  echo "$line" | python3 -c '
import json,sys
name,rate,dur,up=sys.argv[1],sys.argv[2],sys.argv[3],int(sys.argv[4])
d=json.load(sys.stdin)
r=d["runs"][0]["result"] if "runs" in d else d
o=r["outcomes"]; tot=sum(v for k,v in o.items() if k!="invalid") or 1
contrib=(o.get("ok",0)+o.get("cached",0)+o.get("stale",0))/tot
secs=float(dur.rstrip("s"))
l=r["latency"]
row=(name, rate, r["throughput"], l["p50_ms"], l["p99_ms"], r["late"], r["server_late"], r.get("errors") or {}, r["completeness"], contrib, up/secs)
print("%-36s rate=%5s resp/s=%6.0f p50=%7.2fms p99=%7.2fms late=%d srv_late=%d errors=%s complete=%.3f contributed=%.3f upstream_req/s=%.0f" % row)
' "$1" "$3" "$4" "$upreq"
}
case ${1:-complete} in
complete)
  for q in "" "?cc=max-age%3D10"; do
    U="http://127.0.0.1:8080/numbers?u=$S/primes$q&u=$S/fibo$q&u=$S/odd$q&u=$S/rand$q"
    for shared in 1 0; do
      name="3 replicas, redis=$shared${q:+, max-age=10}"
      if [ $shared = 1 ]; then up; else up NO_REDIS=1; fi
      attack "$name cold" "$U" 300 10s
      attack "$name warm" "$U" 300 10s
      down
    done
  done ;;
throughput)
  U="http://127.0.0.1:8080/numbers?u=$S/numbers%3Fseed%3D1&u=$S/numbers%3Fseed%3D2&u=$S/numbers%3Fseed%3D3&u=$S/numbers%3Fseed%3D4"
  for n in 1 3; do
    up REPLICAS=$n
    for rate in ${RATES:-1000 2000 4000 6000 8000 10000 12000}; do attack "$n replica(s) behind HAProxy" "$U" $rate 4s; done
    down
  done ;;
esac
