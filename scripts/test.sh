#!/usr/bin/env bash
# `go tool task test`: everything the tests need, then every check.
#  1. PostgreSQL and Redis up (scripts/services.sh).
#  2. A fresh database on which the rd binary applies migrations up, down, up.
#  3. go vet, then go test: with the race detector on every package that does
#     not link the Temporal server (its race build would double a 10-minute
#     compile), without it on the few that do.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/services.sh

admin_url=${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable}
export TEST_DATABASE_URL=$admin_url
if ! command -v psql >/dev/null; then
  echo "test: psql is needed to create the test database: apt-get install -y postgresql-client" >&2
  exit 1
fi

echo "== migrations: up, down, up on a fresh database"
db=rd_test_migrate
psql "$admin_url" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
go build -o .dev/bin/rd ./cmd/rd
db_url=$(echo "$admin_url" | sed -E "s#/postgres(\?|$)#/$db\1#")
for step in up down up status; do
  DATABASE_URL=$db_url .dev/bin/rd migrate "$step"
done
psql "$admin_url" -qX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"

echo "== go vet"
go vet ./...

# Packages whose tests link the Temporal server, found from their test deps.
server_pkgs=$(go list -test -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
  awk '/ go\.temporal\.io\/server\/temporal( |$)/ { sub(/ .*/, ""); sub(/\.test$/, ""); sub(/_test$/, ""); print }' | sort -u)
all_pkgs=$(go list ./...)
race_pkgs=$(comm -23 <(echo "$all_pkgs" | sort) <(echo "$server_pkgs"))

flags=${GOTESTFLAGS:--count=1}
echo "== go test -race (packages without the Temporal server)"
go test -race $flags -timeout 15m $race_pkgs
if [ -n "$server_pkgs" ]; then
  echo "== go test (packages that link the Temporal server)"
  go test $flags -timeout 20m $server_pkgs
fi
