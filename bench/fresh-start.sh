#!/usr/bin/env bash
# The README's first steps, timed: a fresh clone, `npm install`, `npm run dev`, the README's first
# curl answered 201 with an image. Prints each phase's seconds, node_modules' size and the load.
#
#   bash bench/fresh-start.sh [REPO] [PORT]     (REPO defaults to this checkout, PORT to 8797)
#
# npm's download cache is what it is on the machine: run `npm cache clean --force` first for a
# cold figure (that one is bounded by the registry's speed, not by the project).
set -euo pipefail
repo="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
port="${2:-8797}"
work="$(mktemp -d)"
dev_pid=""
cleanup() { [ -n "$dev_pid" ] && kill -- -"$dev_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now)
git clone -q "$repo" "$work/repo"
cd "$work/repo"
t1=$(now)
npm install --no-audit --no-fund --loglevel=error >/dev/null
t2=$(now)
set -m
PORT="$port" INSPECTOR_PORT=$((port + 1)) npm run dev >"$work/dev.log" 2>&1 &
dev_pid=$!
set +m
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
  if ! kill -0 "$dev_pid" 2>/dev/null; then cat "$work/dev.log" >&2; exit 1; fi
  sleep 0.2
done
t3=$(now)
status=$(curl -s -o "$work/answer.json" -w '%{http_code}' "http://127.0.0.1:$port/v1/images" \
  -H "Authorization: Bearer imk_local_dev_owner" -H 'content-type: application/json' \
  -d '{"prompt":"a cat in a fishbowl","size":"1024x768","seed":42,"source":"script"}')
t4=$(now)
[ "$status" = 201 ] || { echo "first image: HTTP $status" >&2; cat "$work/answer.json" >&2; exit 1; }
echo "clone            $(secs "$t0" "$t1") s"
echo "npm install      $(secs "$t1" "$t2") s"
echo "npm run dev      $(secs "$t2" "$t3") s (until /healthz answers)"
echo "first image      $(secs "$t3" "$t4") s (HTTP $status)"
echo "total            $(secs "$t0" "$t4") s"
echo "node_modules     $(du -sh node_modules | cut -f1)"
echo "workerd copies   $(find node_modules -path '*/@cloudflare/workerd-*/bin/workerd' | wc -l)"
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
