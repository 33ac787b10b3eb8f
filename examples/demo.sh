#!/usr/bin/env bash
# make demo: the whole loop on embedded defaults — no cluster, no Prometheus, no network.
#
# It copies examples/laravel into a fresh Git repository (with a bare "remote" beside it, as
# Argo CD would watch), then replays the bundled metrics trace (a traffic spike and a queue
# backlog) through `gitops-autoscaler evaluate --metrics-file … --at …`, one evaluation per
# step, exactly as a Jenkins job or the service would run it. Every decision becomes a commit
# with its reasoning and trailers. Just after the spike, a person reverts the web tier's last
# scale-up (8 → 12) while the load still wants it, and the evaluations after it hold off instead
# of fighting the revert (Steady then keeps the level through the quiet hour after the spike: a
# scale-down there would not pay for its change). At the end it prints the
# log, compares the web policy (Steady) with its HPA form over the same trace, and writes a
# backtest report.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
bin=${BIN:-$top/bin/gitops-autoscaler}
ex=$here/laravel
trace=$ex/trace.csv
out=${DEMO_OUT:-$top/out/demo}
step=${DEMO_STEP:-60}          # seconds between evaluations
start=${DEMO_START:-2026-11-22T08:00:00Z}
end=${DEMO_END:-2026-11-22T10:00:00Z}
revert_at=${DEMO_REVERT_AT:-2026-11-22T08:30:00Z}   # when a person reverts the web tier's last decision
web=laravel-demo/laravel-web

[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
command -v git >/dev/null || { echo "the demo needs git" >&2; exit 1; }

rm -rf "$out" && mkdir -p "$out"
work=$out/work remote=$out/laravel-gitops.git

# 1. A GitOps repository holding the Laravel chart, per-environment values and the policies.
mkdir -p "$work"
cp -R "$ex/chart" "$ex/envs" "$ex/policies" "$work/"
git -C "$work" init -q -b main
git -C "$work" -c user.name="Platform Team" -c user.email=platform@example.com add -A
GIT_AUTHOR_DATE="$start" GIT_COMMITTER_DATE="$start" \
  git -C "$work" -c user.name="Platform Team" -c user.email=platform@example.com commit -q -m "Laravel example: chart, values, autoscaling policies"
git clone -q --bare "$work" "$remote"

# 2. The service config, pointing at that repository.
sed -e "s#url: \".\"#url: \"$remote\"#" -e "s#^commit:#cacheDir: \"$out/cache\"\ncommit:#" "$ex/autoscaler.yaml" > "$out/autoscaler.yaml"

echo "== gitops-autoscaler demo: replaying $(basename "$trace") from $start to $end every ${step}s"
"$bin" validate "$out/autoscaler.yaml" "$work/policies"

# 3. One evaluation per step, each a separate one-shot run: Git is the only state. At revert_at
#    Alice reverts the web tier's last decision — Git is the rollback — and the autoscaler keeps
#    its hands off for holds.afterRevertSeconds instead of fighting her.
t=$(date -u -d "$start" +%s); stop=$(date -u -d "$end" +%s); rt=$(date -u -d "$revert_at" +%s); n=0
reverted='' held=''
while [ "$t" -le "$stop" ]; do
  at=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)
  if [ -z "$reverted" ] && [ "$t" -ge "$rt" ]; then
    last=$(git --git-dir="$remote" log -1 --format=%H --grep="^autoscale($web)" main)
    [ -n "$last" ] || { echo "the demo expected a decision of $web to revert by $revert_at" >&2; exit 1; }
    git clone -q "$remote" "$out/human"
    GIT_AUTHOR_DATE="$at" GIT_COMMITTER_DATE="$at" \
      git -C "$out/human" -c user.name="Alice Operator" -c user.email=alice@example.com revert --no-edit "$last" >/dev/null
    git -C "$out/human" push -q origin main
    echo "  $at  Alice reverts $(git --git-dir="$remote" log -1 --format='%h (%s)' "$last")"
    reverted=1
  fi
  "$bin" evaluate --config "$out/autoscaler.yaml" --policy "$web" --policy laravel-demo/laravel-worker \
    --metrics-file "$trace" --at "$at" > "$out/evaluate-$n.txt" || { echo "evaluate failed at $at"; cat "$out/evaluate-$n.txt"; exit 1; }
  # result lines: policy  target  from → to  action  commit
  awk -v at="$at" '$6 == "committed" { printf "  %s  %-30s %3s → %-3s %s\n", at, $1, $3, $5, $7 }' "$out/evaluate-$n.txt"
  if [ -n "$reverted" ] && [ -z "$held" ] && grep -q 'revert hold' "$out/evaluate-$n.txt"; then
    echo "  $at  $web holds off: the rules want a change, the revert stands"
    awk -v p="$web" '$1 == p { on = 1; print "    " $0; next } /^[^ ]/ { on = 0 } on { print "    " $0 }' "$out/evaluate-$n.txt"
    held=$at
  fi
  t=$((t + step)); n=$((n + 1))
done
[ -n "$held" ] || { echo "the demo expected the revert to hold $web" >&2; exit 1; }

# 4. The audit log: every decision with its reasoning and trailers.
echo
echo "== git log of the GitOps repository (what Argo CD would sync)"
git --git-dir="$remote" log --format='--------%ncommit %H%nAuthor: %an <%ae>%nDate:   %ad%n%n%B' --date=iso-strict main | sed -e 's/^/  /'
echo "== $(git --git-dir="$remote" rev-list --count --grep='^autoscale(' main) decisions committed"

# 5. What Steady saves: the web policy against the same metrics in the HPA form with the HPA's
#    defaults, replayed over the same trace.
echo
echo "== the web policy (Steady) against its HPA form (examples/laravel/compare), over the same trace at the"
echo "   live run's step (${step}s), so its figures for Steady are the commits above"
"$bin" backtest --policy "$work/policies/laravel-web-prod.yaml" --compare "$ex/compare/laravel-web-hpa.yaml" \
  --trace "$trace" --initial 3 --step "${step}s" --html "$out/compare-laravel-web.html" 2>/dev/null | sed -e 's/^/  /'
echo "== comparison chart: $out/compare-laravel-web.html"

# 6. The picture people look at to trust a policy.
"$bin" backtest --policy "$work/policies/laravel-web-prod.yaml" --trace "$trace" --initial 3 --step "${step}s" --html "$out/backtest-laravel-web.html" > "$out/backtest-laravel-web.txt"
echo "== backtest report: $out/backtest-laravel-web.html"
