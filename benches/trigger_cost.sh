#!/usr/bin/env bash
# The cost of migration 0012's triggers on writes of `submission` (the stale-pack marks): one
# million rows (40,000 enterprises × 25 months) loaded into `submission` as the migrations make
# it, three ways in turn (each on a fresh table), RUNS rounds:
#   plain   the triggers disabled (dropped on SQLite): the cost without them;
#   indmon  the triggers in place and indmon's writer mark set, as indmon's imports write;
#   behind  the triggers in place, no writer mark: a write behind indmon's back (every row marks).
# PostgreSQL loads with COPY (as imports do), SQLite with one INSERT … SELECT in a transaction.
#
# Usage: benches/trigger_cost.sh [sqlite|postgres|all]
# Environment: INDMON_BENCH_POSTGRES_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
#              RUNS (default 3). Needs psql and sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
runs="${RUNS:-3}"
admin="${INDMON_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rows_sql="SELECT lpad((i / 25)::text, 18, '0') AS credit_code,
       to_char(date '2024-01-01' + make_interval(months => (i % 25)::int), 'YYYY-MM') AS period,
       i AS output, i AS output_ytd, i AS electricity, 1 AS revision, 1 AS run_id, 0 AS received_at
  FROM generate_series(0, 999999) AS i"
cols="credit_code, period, output, output_ytd, electricity, revision, run_id, received_at"

postgres() {
    local db="indmon_trigger_bench_$$"
    local url="${admin%/*}/$db"
    psql -q "$admin" -c "CREATE DATABASE $db"
    for f in migrations/postgres/0*.sql; do psql -q -v ON_ERROR_STOP=1 "$url" -f "$f" > /dev/null 2>&1; done
    psql -q "$url" -c "\\copy ($rows_sql) TO '$work/rows.csv' CSV"
    for _ in $(seq "$runs"); do
        for way in plain indmon behind; do
            psql -q "$url" -c "ALTER TABLE submission DISABLE TRIGGER USER" \
                -c "TRUNCATE submission, submission_year_stale"
            [[ $way != plain ]] && psql -q "$url" -c "ALTER TABLE submission ENABLE TRIGGER USER"
            local mark=""
            [[ $way == indmon ]] && mark="SET LOCAL indmon.writer = 'on';"
            # The server process's CPU time (user + system, clock ticks) around the load.
            local t0 t1 out
            t0=$(date +%s.%N)
            out=$(printf 'SELECT pg_backend_pid() AS pid \\gset\n\\setenv PGPID :pid\n\\! awk %s /proc/$PGPID/stat\nBEGIN;\n%s\n\\copy submission (%s) FROM %s CSV\nCOMMIT;\n\\! awk %s /proc/$PGPID/stat\n' \
                "'{print \$14 + \$15}'" "$mark" "$cols" "$work/rows.csv" "'{print \$14 + \$15}'" \
                | psql -q -v ON_ERROR_STOP=1 "$url")
            t1=$(date +%s.%N)
            local ticks marks
            ticks=$(echo "$out" | tail -n 1)
            ticks=$((ticks - $(echo "$out" | head -n 1)))
            marks=$(psql -Atq "$url" -c "SELECT COUNT(*) FROM submission_year_stale")
            echo "postgres $way: wall $(echo "$t1 - $t0" | bc) s, server CPU $(echo "scale=2; $ticks / $(getconf CLK_TCK)" | bc) s ($marks marks)"
        done
    done
    psql -q "$admin" -c "DROP DATABASE $db WITH (FORCE)"
}

sqlite() {
    local base="$work/base.db"
    for f in migrations/sqlite/0*.sql; do sqlite3 "$base" < "$f"; done
    local series="WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 999999)
        SELECT printf('%018d', i / 25), printf('%04d-%02d', 2024 + (i % 25) / 12, (i % 25) % 12 + 1),
               i, i, i, 1, 1, 0 FROM c"
    for _ in $(seq "$runs"); do
        for way in plain indmon behind; do
            local db="$work/$way.db"
            rm -f "$db"*
            cp "$base" "$db"
            sqlite3 "$db" "PRAGMA journal_mode = WAL" > /dev/null
            [[ $way == plain ]] && sqlite3 "$db" "DROP TRIGGER submission_stale_insert; DROP TRIGGER submission_stale_update; DROP TRIGGER submission_stale_delete;"
            local mark="" unmark=""
            [[ $way == indmon ]] && mark="INSERT INTO pack_writer (id) VALUES (1);" && unmark="DELETE FROM pack_writer;"
            local took
            took=$( { TIMEFORMAT='wall %R s, CPU %U s user + %S s system'; time sqlite3 "$db" \
                "PRAGMA synchronous = NORMAL; BEGIN; $mark INSERT INTO submission ($cols) $series; $unmark COMMIT;"; } 2>&1)
            echo "sqlite $way: $took ($(sqlite3 "$db" "SELECT COUNT(*) FROM submission_year_stale") marks)"
        done
    done
}

case "$which" in
    sqlite) sqlite ;;
    postgres) postgres ;;
    all) sqlite; postgres ;;
    *) echo "usage: $0 [sqlite|postgres|all]" >&2; exit 2 ;;
esac
