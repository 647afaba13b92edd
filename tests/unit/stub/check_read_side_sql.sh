#!/usr/bin/env bash
# cadctl, the running service and the domain's read-side files ask the store
# through ReadModels (server-stub/store/read_models.h): no SQL text of their
# own. Fails naming each file and line that has some.
# Usage: check_read_side_sql.sh SOURCE_DIR
set -u
src=${1:?usage: check_read_side_sql.sh SOURCE_DIR}
cd "$src" || exit 2
files=(server-stub/cli/*.cpp server-stub/cli/*.h server-stub/service/*.cpp server-stub/service/*.h
       server-stub/domain/kpi.cpp server-stub/domain/kpi.h server-stub/domain/nearby.cpp server-stub/domain/nearby.h
       server-stub/domain/eido.cpp server-stub/domain/eido.h
       server-stub/domain/fleet_health.cpp server-stub/domain/fleet_health.h)
for f in "${files[@]}"; do
  [[ -f $f ]] || { echo "check_read_side_sql: $f: missing (update the list in this script)"; exit 2; }
done
# SQL in a string literal, or a statement prepared or run on the connection.
sql='"[^"]*\b(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|REPLACE INTO|CREATE (TABLE|INDEX)|ALTER TABLE|DROP TABLE)\b'
calls='(\.|->)(prepare|queryInt)\(|sql::Stmt\b'
found=$(grep -nE "$sql|$calls" "${files[@]}")
if [[ -n $found ]]; then
  echo "SQL outside the store (ask ReadModels, server-stub/store/read_models.h, instead):"
  echo "$found"
  exit 1
fi
echo "no SQL in ${#files[@]} read-side files"
