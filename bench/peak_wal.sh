#!/bin/bash
# The peak size of SQLite's write-ahead log while a command runs, for the WAL-bound figures:
#
#   bench/peak_wal.sh target/release/consento bench-data/wal.db bench-import --rows 1000000
#   bench/peak_wal.sh target/release/consento bench-data/wal.db demo --contacts 1000000
#
# Starts from an empty database (DB, its -wal and -shm, and the master key file beside it are
# removed first), runs BINARY --database-url sqlite:DB ARGS..., samples DB-wal every 0.2 s, and
# prints the command's exit code, the peak WAL, the database's final size and what is left of
# the WAL, then the command's own summary lines.
set -u
BIN=$1; DB=$2; shift 2
rm -f "$DB" "$DB-wal" "$DB-shm" "$(dirname "$DB")/consento-master-key"
"$BIN" --database-url "sqlite:$DB" "$@" > "$DB.out" 2>&1 &
PID=$!
PEAK=0
while kill -0 "$PID" 2>/dev/null; do
  S=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
  [ "$S" -gt "$PEAK" ] && PEAK=$S
  sleep 0.2
done
wait "$PID"; RC=$?
echo "rc=$RC peak_wal_mib=$((PEAK / 1048576)) final_db_mib=$(( $(stat -c %s "$DB") / 1048576 )) final_wal=$(stat -c %s "$DB-wal" 2>/dev/null || echo none)"
grep -iE "rows/s|throughput|resident|peak|imported|contacts" "$DB.out" | head -5
