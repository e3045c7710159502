#!/usr/bin/env bash
# Fails when a lockfile is no longer what a fresh `npm install` would write, and says which.
#
# The registry can start serving a dependency's optional platform packages after the lock was
# made (the Supabase CLI's did): every fresh clone's install then rewrites the lock. Resolving
# each package again in a scratch copy catches that before CI does, without touching the tree.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
status=0
for dir in . tools bench; do
  mkdir -p "$scratch/$dir"
  cp "$root/$dir/package.json" "$root/$dir/package-lock.json" "$scratch/$dir/"
  (cd "$scratch/$dir" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  if ! cmp -s "$root/$dir/package-lock.json" "$scratch/$dir/package-lock.json"; then
    echo "$dir/package-lock.json is stale: a fresh npm install would change it:" >&2
    diff -u "$root/$dir/package-lock.json" "$scratch/$dir/package-lock.json" | head -40 >&2 || true
    echo "fix: (cd $dir && npm install --package-lock-only) and commit $dir/package-lock.json" >&2
    status=1
  fi
done
exit "$status"
