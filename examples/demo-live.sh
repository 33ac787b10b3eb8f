#!/usr/bin/env bash
# make demo-live: the real service against a real Prometheus and the example's load app, all on
# this machine. It builds a GitOps repository from examples/laravel (as make demo does), starts
# the load app and a local Prometheus scraping it, runs `gitops-autoscaler serve`, drives a
# traffic spike and a queue backlog through the load app, and prints the commits the service
# makes. Open the status page while it runs. Needs the `prometheus` binary (Debian: prometheus).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
bin=${BIN:-$top/bin/gitops-autoscaler}
ex=$here/laravel
out=${DEMO_OUT:-$top/out/demo-live}
seconds=${DEMO_SECONDS:-240}
prom_port=${PROM_PORT:-19090} app_port=${APP_PORT:-19100} http_port=${HTTP_PORT:-18080}

command -v prometheus >/dev/null || { echo "demo-live needs prometheus (apt-get install prometheus)" >&2; exit 1; }
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }

rm -rf "$out" && mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The GitOps repository and its "remote".
work=$out/work remote=$out/laravel-gitops.git
mkdir -p "$work" && cp -R "$ex/chart" "$ex/envs" "$ex/policies" "$work/"
git -C "$work" init -q -b main
git -C "$work" -c user.name="Platform Team" -c user.email=platform@example.com add -A
git -C "$work" -c user.name="Platform Team" -c user.email=platform@example.com commit -q -m "Laravel example"
git clone -q --bare "$work" "$remote"

# The load app and a Prometheus scraping it every 5s.
go build -o "$out/loadapp" "$ex/loadapp"
"$out/loadapp" -listen "127.0.0.1:$app_port" > "$out/loadapp.log" 2>&1 & pids+=($!)
cat > "$out/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
scrape_configs:
  - job_name: laravel
    static_configs: [{targets: ["127.0.0.1:$app_port"]}]
YAML
prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" > "$out/prometheus.log" 2>&1 & pids+=($!)

# The service config: the demo's, with this repository, Prometheus and listener.
echo "demo-token" > "$out/http-token"
sed -e "s#url: \".\"#url: \"$remote\"#" -e "s#http://127.0.0.1:9090#http://127.0.0.1:$prom_port#" \
    -e "s#listen: .*#listen: \"127.0.0.1:$http_port\"\n  tokenFile: \"$out/http-token\"#" \
    -e "s#^commit:#cacheDir: \"$out/cache\"\ncommit:#" "$ex/autoscaler.yaml" > "$out/autoscaler.yaml"
"$bin" serve --config "$out/autoscaler.yaml" > "$out/serve.log" 2>&1 & pids+=($!)

echo "status page: http://127.0.0.1:$http_port/   prometheus: http://127.0.0.1:$prom_port/"
for i in $(seq 1 60); do curl -fsS "http://127.0.0.1:$app_port/load" >/dev/null 2>&1 && break; sleep 0.5; done
echo "== traffic spike: 700 req/s at 0.4 s; queue backlog 3000"
curl -fsS -X POST "http://127.0.0.1:$app_port/load?rps=700&latency=0.4&errors=0.01" >/dev/null
curl -fsS -X POST "http://127.0.0.1:$app_port/queue?backlog=3000" >/dev/null
sleep $((seconds / 2))
echo "== back to calm: 100 req/s, empty queue"
curl -fsS -X POST "http://127.0.0.1:$app_port/load?rps=100&latency=0.1&errors=0" >/dev/null
curl -fsS -X POST "http://127.0.0.1:$app_port/queue?backlog=0" >/dev/null
sleep $((seconds / 2))

echo "== commits made by the service"
git --git-dir="$remote" log --format='%h %ad %s' --date=iso-strict main
