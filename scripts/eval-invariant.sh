#!/usr/bin/env bash
# DiffusionNER's standing numerical invariant: the eval counts (tp, predicted, gold) of the bundled models.
# Runs the four evaluations of docs/eval-invariant.json and writes their counts as JSON to $1 (default
# stdout); `--check` compares them with docs/eval-invariant.json and exits non-zero on any difference.
# About 15 minutes on a 2-core host with lavapipe.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DNER_DATA:-../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -n 500 "$data/conll2003/test.jsonl" > "$tmp/conll2003-test-500.jsonl"
head -n 300 "$data/genia/test.jsonl" > "$tmp/genia-test-300.jsonl"
run() { # name, then the eval arguments
  local name=$1; shift
  npx diffusionner eval "$@" --json "$tmp/$name.json" >&2
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const m = r.micro;
    process.stdout.write(JSON.stringify({ name: process.argv[2], args: process.argv.slice(3).join(" "), tp: m.tp, predicted: m.predicted, gold: m.gold, precision: +m.precision.toFixed(4), recall: +m.recall.toFixed(4), f1: +m.f1.toFixed(4) }))' \
    "$tmp/$name.json" "$name" "$@"
}
{
  echo '['
  run conll2003-test --model models/conll2003 --data "$data/conll2003/test.jsonl"; echo ','
  run genia-test --model models/genia --data "$data/genia/test.jsonl"; echo ','
  run conll2003-test-500 --model models/conll2003 --data "$tmp/conll2003-test-500.jsonl" --gamma 5 --k-eval 60 --threshold 1.5 --seed 0; echo ','
  run genia-test-300 --model models/genia --data "$tmp/genia-test-300.jsonl" --seed 0
  echo ']'
} > "$tmp/counts.json"
if [ "${1:-}" = "--check" ]; then
  node -e 'const fs = require("fs"); const want = JSON.parse(fs.readFileSync("docs/eval-invariant.json", "utf8")).runs, got = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const key = (r) => `${r.name}: tp ${r.tp}, predicted ${r.predicted}, gold ${r.gold}`; let bad = 0;
    for (const w of want) { const g = got.find((x) => x.name === w.name); const same = g && key(g) === key(w); if (!same) bad++;
      console.log(`${same ? "same" : "DIFFERENT"}  ${key(w)}${same ? "" : `  now ${g ? key(g) : "missing"}`}`); }
    process.exit(bad ? 1 : 0);' "$tmp/counts.json"
else
  node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")), null, 1))' "$tmp/counts.json" > "${1:-/dev/stdout}"
fi
