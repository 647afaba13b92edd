#!/bin/bash
# File and function sizes of the project's own code (generated code, tests
# and benchmarks excluded): every file over the file limit and every function
# over the function limit, then the totals.
#   scripts/sizes.sh [--file-limit N] [--function-limit N]
set -euo pipefail
cd "$(dirname "$0")/.."
file_limit=600
fn_limit=80
while [ $# -gt 0 ]; do
  case "$1" in
    --file-limit) file_limit="$2"; shift 2 ;;
    --function-limit) fn_limit="$2"; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sizes: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
command -v ctags >/dev/null || apt-get install -y -q universal-ctags >/dev/null
mapfile -t files < <(git ls-files 'agent/*.cpp' 'agent/*.h' 'hw/*.cpp' 'hw/*.h' 'mdc/*.cpp' 'mdc/*.h' \
  'server-stub/*.cpp' 'server-stub/*.h' 'shared/*.cpp' 'shared/*.h' | grep -v '/bench/')
echo "files over $file_limit lines:"
wc -l "${files[@]}" | awk -v lim="$file_limit" '$2 != "total" && $1 > lim {printf "  %5d %s\n", $1, $2; n++} END {if (!n) print "  none"}'
echo "functions over $fn_limit lines:"
ctags --output-format=u-ctags --fields=+ne --kinds-C++=f --extras=-F -f - "${files[@]}" |
  awk -F'\t' -v lim="$fn_limit" '{
      line = 0; end = 0; scope = "";
      for (i = 4; i <= NF; i++) {
        if ($i ~ /^line:/) line = substr($i, 6);
        else if ($i ~ /^end:/) end = substr($i, 5);
        else if ($i ~ /^(class|namespace|struct):/) { scope = $i; sub(/^[a-z]+:/, "", scope); sub(/.*::/, "", scope) }
      }
      if (end && end - line + 1 > lim) printf "  %5d %s:%d %s%s\n", end - line + 1, $2, line, (scope ? scope "::" : ""), $1
    }' | sort -rn | { out=$(cat); [ -n "$out" ] && echo "$out" || echo "  none"; }
total=$(cat "${files[@]}" | wc -l)
echo "total: ${#files[@]} files, $total lines"
