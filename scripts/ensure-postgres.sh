#!/usr/bin/env bash
# Start the local PostgreSQL 15 cluster when it is down and make sure the role and database used
# by the test run exist (role skygallery / password skygallery, allowed to create the test DB).
# Exit 0 when PostgreSQL is ready on 127.0.0.1:5432, non-zero otherwise.
set -u
command -v pg_ctlcluster >/dev/null 2>&1 || { echo "pg_ctlcluster not found (PostgreSQL not installed)" >&2; exit 1; }
if ! pg_lsclusters 2>/dev/null | grep -q '^15 *main .* online'; then
  pg_ctlcluster 15 main start || { echo "could not start PostgreSQL 15/main" >&2; exit 1; }
fi
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -n -u postgres sh -c "$1"; fi; }
for _ in $(seq 1 30); do as_pg "psql -qAtc 'select 1'" >/dev/null 2>&1 && break; sleep 0.5; done
as_pg "psql -qAtc \"select 1 from pg_roles where rolname='skygallery'\"" | grep -q 1 ||
  as_pg "psql -qc \"create role skygallery login password 'skygallery' createdb\"" || exit 1
as_pg "psql -qAtc \"select 1 from pg_database where datname='skygallery'\"" | grep -q 1 ||
  as_pg "createdb -O skygallery skygallery" || exit 1
exit 0
