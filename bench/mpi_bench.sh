#!/bin/sh
# mpi_bench.sh: the distributed benchmark of `make bench` (tools/bench
# runs it when gdnn/mpi.so is built). Runs bench/mpi_bench.lua under
# mpirun with 1 and 2 processes (MPI_BENCH_PROCS) on one BLAS thread
# each and prints, per workload, the time, the throughput and the
# speed-up over 1 process; for the restarts also whether every process
# count found the same minima.
set -e
cd "$(dirname "$0")/.."

if [ ! -f gdnn/mpi.so ]; then
  echo "mpi_bench: gdnn/mpi.so is not built (no mpicc); skipped"
  exit 0
fi
OPENBLAS_NUM_THREADS=1
export OPENBLAS_NUM_THREADS
flags="--oversubscribe --bind-to none --mca mpi_yield_when_idle 1"
[ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"

out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM
for np in ${MPI_BENCH_PROCS:-1 2}; do
  mpirun $flags -np "$np" ./gdnn-lua bench/mpi_bench.lua "$@" |
    sed "s/^/$np /" >> "$out"
done

awk '
  $2 == "restarts" {
    if (!r1) { r1 = $4; d1 = $5 }
    r[++nr] = sprintf("restarts  %d x 2-d Rastrigin   %d procs  %8.3f s  " \
                      "%9.1f restarts/s  speed-up %.2f  %s", $3, $1, $4,
                      $3 / $4, r1 / $4,
                      ($5 == d1 ? "same minima" : "MINIMA DIFFER"))
  }
  $2 == "train" {
    if (!t1) t1 = $4
    t[++nt] = sprintf("train     {784,256,10} x %d  %d procs  %8.3f s  " \
                      "%9.1f samples/s   speed-up %.2f", $5, $1, $4,
                      $3 * $5 / $4, t1 / $4)
  }
  END {
    for (i = 1; i <= nr; i++) print r[i]
    for (i = 1; i <= nt; i++) print t[i]
  }' "$out"
