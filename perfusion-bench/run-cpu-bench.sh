#!/usr/bin/env bash
# Runs the CPU benchmarks the way docs/PERFORMANCE.md records them, and prints the Markdown table.
#
#   perfusion-bench/run-cpu-bench.sh [output-dir]      (after: mvn -pl perfusion-bench -am package -DskipTests)
#
# Three JMH runs, merged into one JSON array (all.json):
#   1. nd4j and plain at every shape (SD v1.5 and scaled), average time, 2 warm-up + 5 measured 2 s iterations;
#   2. reference at the scaled shapes only, same settings (at SD sizes it needs 10-40 s per call);
#   3. reference at the SD shapes, one single shot each, to show what the oracle costs at full size.
# The machines are shared and small (2 cores), so each run first waits until other processes are quiet, and
# afterwards reports how much CPU other processes took during it: a run with more than a few percent is noise.
set -euo pipefail
cd "$(dirname "$0")"
JAR=target/benchmarks.jar
OUT=${1:-target/jmh}
JVM_ARGS="-Xmx4g -Dorg.bytedeco.javacpp.maxphysicalbytes=12g"
AVGT=(-f 1 -wi 2 -i 5 -w 2s -r 2s)
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
mkdir -p "$OUT"

# busy jiffies of all CPUs (user nice system irq softirq steal)
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# waits until the whole machine used at most 5 % of its cores in two successive 5 s windows
# (at most WAIT_MAX_S seconds, default 1800, then runs anyway and says so)
wait_idle() {
  local quiet=0 waited=0
  while [ "$waited" -lt "${WAIT_MAX_S:-1800}" ]; do
    local b0; b0=$(busy); sleep 5; local b1; b1=$(busy); waited=$((waited + 5))
    local pct=$(( (b1 - b0) * 100 / (5 * HZ * NCPU) ))
    if [ "$pct" -le 5 ]; then
      quiet=$((quiet + 1))
      if [ "$quiet" -ge 2 ]; then return 0; fi
    else
      quiet=0
      if [ $((waited % 60)) -eq 0 ]; then echo "waiting for a quiet machine: ${pct}% busy" >&2; fi
    fi
  done
  echo "machine never became quiet; running anyway" >&2
}

run() {
  local name=$1; shift
  wait_idle
  local b0; b0=$(busy)
  /usr/bin/time -f "%e %U %S" -o "$OUT/$name.time" \
    java -jar "$JAR" "$@" -rf json -rff "$OUT/$name.json" -jvmArgs "$JVM_ARGS" > "$OUT/$name.log" 2>&1
  local b1; b1=$(busy)
  read -r wall usr sys < "$OUT/$name.time"
  # CPU seconds taken by everything but this JMH run (and its forks) during the run, as % of all cores
  awk -v b="$((b1 - b0))" -v hz="$HZ" -v u="$usr" -v s="$sys" -v w="$wall" -v n="$NCPU" -v name="$name" \
    'BEGIN { o = b / hz - u - s; if (o < 0) o = 0;
             printf "%s: %.0f s wall, other processes used %.1f%% of the %d cores\n", name, w, 100 * o / (w * n), n }' \
    | tee "$OUT/$name.noise" >&2
}

run fast -p backend=nd4j,plain "${AVGT[@]}"
run reference -p backend=reference -p shape=scaled "${AVGT[@]}"
run reference-full-matmul MatmulBench -p backend=reference -p shape=m4096_k320_n320,m4096_k1280_n5120 -bm ss -wi 0 -i 1 -f 1
run reference-full-conv-attn 'Conv2dBench|AttentionBench' -p backend=reference -p shape=sd15 -bm ss -wi 0 -i 1 -f 1

jq -s add "$OUT/fast.json" "$OUT/reference.json" "$OUT/reference-full-matmul.json" \
  "$OUT/reference-full-conv-attn.json" > "$OUT/all.json"
java -cp "$JAR" dev.perfusion.bench.BenchReport "$OUT/all.json"
