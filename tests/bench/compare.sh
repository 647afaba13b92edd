#!/usr/bin/env bash
# Runs bench_stub_ingest, bench_agent and bench_stub_replay of two builds side
# by side on this machine, alternating (before, after, before, after, ...) so
# that a change in the machine's load falls on both, and prints each figure of
# each round with the median. The JSON of every run stays in OUT_DIR.
#
# Usage: tests/bench/compare.sh [options] BEFORE_BUILD_DIR AFTER_BUILD_DIR
#   --rounds N          rounds of each benchmark (default 2)
#   --replay-events N   events in bench_stub_replay's log (default 500000)
#   --out DIR           where the JSON goes (default /tmp/mdc-bench-compare)
#   --only NAME         one benchmark: stub_ingest, agent or stub_replay
# Each build dir must hold the benchmarks and the programs they start
# (cmake --build --preset default --target bench_stub_ingest bench_agent bench_stub_replay mdc-agent).
set -euo pipefail

rounds=2 replayEvents=500000 out=/tmp/mdc-bench-compare only=""
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --replay-events) replayEvents=${2:?--replay-events needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --only) only=${2:?--only needs a name}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 2 ]] || { usage >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --rounds \"$rounds\": expected a whole number from 1" >&2; exit 2; }
[[ $replayEvents =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --replay-events \"$replayEvents\": expected a whole number from 1" >&2; exit 2; }
case $only in ""|stub_ingest|agent|stub_replay) ;; *) echo "compare.sh: --only \"$only\": expected stub_ingest, agent or stub_replay" >&2; exit 2 ;; esac
before=$(cd "$1" && pwd) after=$(cd "$2" && pwd)
for b in "$before" "$after"; do
  for p in tests/bench/bench_stub_ingest tests/bench/bench_agent tests/bench/bench_stub_replay agent/mdc-agent server-stub/cad-stub; do
    [[ -x $b/$p ]] || { echo "compare.sh: $b/$p: missing (build it first)" >&2; exit 2; }
  done
done
mkdir -p "$out"

declare -A args=(
  [stub_ingest]=""
  [agent]=""
  [stub_replay]="--events $replayEvents"
)
benches=(stub_ingest agent stub_replay)
[[ -n $only ]] && benches=("$only")

# One figure of a run's JSON: a flat key, or "outer.inner" one level down.
figure() {
  local file=$1 key=$2
  if [[ $key == *.* ]]; then
    local outer=${key%%.*} inner=${key#*.}
    tr -d '\n' <"$file" | grep -oE "\"$outer\": *\{[^}]*" | grep -oE "\"$inner\": *[-0-9.e+]+" | head -1 | sed 's/.*: *//'
  else
    grep -oE "\"$key\": *[-0-9.e+]+" "$file" | head -1 | sed 's/.*: *//'
  fi
}

# The figure of every round of one side, one per line ("-" where a run lacks it).
rounds_of() {
  local bench=$1 side=$2 key=$3 r v
  for ((r = 1; r <= rounds; ++r)); do
    v=$(figure "$out/$bench-$side-$r.json" "$key")
    echo "${v:--}"
  done
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

declare -A keys=(
  [stub_ingest]="stub_committed_acked_events_per_s raw_mosquitto_qos1_msgs_per_s raw_sqlite_rows_per_s status_to_ack_ms.p50 status_to_ack_ms.p99 stub.consumer"
  [agent]="enqueue_p50_ms enqueue_p99_ms raw_sqlite_commit_p50_ms drain_events_per_s raw_mosquitto_qos1_per_s drain_cpu_s drain_peak_rss_kb"
  [stub_replay]="build_events_per_s verify_s replay_s replay_events_per_s raw_sqlite_copy_s"
)

for bench in "${benches[@]}"; do
  for ((r = 1; r <= rounds; ++r)); do
    for side in before after; do
      dir=$before; [[ $side == after ]] && dir=$after
      json="$out/$bench-$side-$r.json"
      echo "== $bench, round $r of $rounds, $side ($dir)" >&2
      # shellcheck disable=SC2086
      (cd "$dir" && "tests/bench/bench_$bench" ${args[$bench]} --json "$json") >"$out/$bench-$side-$r.log" 2>&1 ||
        { echo "compare.sh: bench_$bench ($side, round $r) failed; see $out/$bench-$side-$r.log" >&2; exit 1; }
    done
  done
done

{
  echo "{"
  firstBench=1
  for bench in "${benches[@]}"; do
    [[ $firstBench -eq 1 ]] || echo ","
    firstBench=0
    printf '  "%s": {' "$bench"
    firstKey=1
    for key in ${keys[$bench]}; do
      [[ $firstKey -eq 1 ]] || printf ','
      firstKey=0
      printf '\n    "%s": {' "$key"
      for side in before after; do
        printf '"%s": [%s]' "$side" "$(rounds_of "$bench" "$side" "$key" | sed 's/^-$/null/' | paste -sd,)"
        [[ $side == before ]] && printf ', '
      done
      printf '}'
    done
    printf '\n  }'
  done
  echo
  echo "}"
} >"$out/compare.json"

printf '%-14s %-36s %-28s %-28s\n' "benchmark" "figure" "before (rounds; median)" "after (rounds; median)"
for bench in "${benches[@]}"; do
  for key in ${keys[$bench]}; do
    line=()
    for side in before after; do
      vals=$(rounds_of "$bench" "$side" "$key")
      line+=("$(paste -sd' ' <<<"$vals"); $(grep -v '^-$' <<<"$vals" | median)")
    done
    label=$key
    [[ $key == stub.consumer ]] && label="stub CPU ms per 1,000 events"
    printf '%-14s %-36s %-28s %-28s\n' "$bench" "$label" "${line[0]}" "${line[1]}"
  done
done
echo "wrote $out/compare.json"
