#!/usr/bin/env bash
# device-check.sh — the GPU check of the CUDA backend (issue 5) in ONE call on the device machine: device info,
# the cuda-tagged JUnit tests of dev.perfusion.cuda (the backend's ops and golden models, and the hot kernels), the JMH benchmarks
# dev.perfusion.bench.cuda.* (JSON), the PyTorch yardstick for the same shapes (torch_ops.py, JSON) and the ratio
# table of the two. Every output goes to $OUT (or the first argument) with the UTC date in its name.
#
# Before (on the development machine, from the project root): run perfusion-cuda/build-kernels.sh if a .cu changed,
# then `bash ../shared/devkit/bundle.sh` (writes .devkit/, ~30 MB). On the device machine, carry .devkit and run:
#     bash perfusion-cuda/device-check.sh            # all phases; the timeouts below keep it under 10 minutes
#     PHASES=test bash perfusion-cuda/device-check.sh        # or any comma list of: info,test,bench,torch,compare
# Environment: OUT (output folder, default ./device-check-out), PHASES, JMH_ARGS (extra JMH options, e.g.
# "-p dtype=FLOAT16"), TORCH_ARGS (extra torch_ops.py options), TEST_TIMEOUT / BENCH_TIMEOUT / TORCH_TIMEOUT (s).
# At most 8 files come back from the device tool's $OUT; this script writes 7: info, summary.md (phase results and the
# ratio table), junit.log, junit.tgz (the XML reports), jmh.json, jmh.log (PyTorch's log appended), torch.json.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-device-check-out}}
PHASES=${PHASES:-info,test,bench,torch,compare}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
has() { [[ ",$PHASES," == *",$1,"* ]]; }
note() { echo "device-check: $*" | tee -a "$OUT/summary-$STAMP.md" >&2; }

[[ -f .devkit/run.sh ]] || note "no .devkit/ here: build it with ../shared/devkit/bundle.sh and carry it"

if has info; then
  {
    echo "# device-check $STAMP"
    bash .devkit/run.sh info 2>&1
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader 2>&1
    nvcc --version 2>&1 | tail -n 1
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1
  } >"$OUT/info-$STAMP.txt"
  note "info: $(head -c 300 "$OUT/info-$STAMP.txt" | tr '\n' ' ')"
fi

if has test; then
  reports=$(mktemp -d)
  # every cuda-tagged test of the module: the kernels' own and the whole backend's (ops, golden models);
  # TEST_PACKAGE=dev.perfusion.cuda.kernels narrows it to the hot kernels
  timeout "${TEST_TIMEOUT:-150}" bash .devkit/run.sh test --include-tag cuda --include-package "${TEST_PACKAGE:-dev.perfusion.cuda}" \
      --details=summary --details-theme=ascii --reports-dir "$reports" >"$OUT/junit-$STAMP.log" 2>&1
  rc=$?
  tar czf "$OUT/junit-$STAMP.tgz" -C "$reports" . 2>/dev/null
  note "tests: exit $rc; $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/junit-$STAMP.log" | tr -s ' ' | tr '\n' ';')"
fi

if has bench; then
  # -f 0: all trials in this JVM (no fork start-up per parameter combination; each trial opens its own device);
  # short iterations: a GPU op takes microseconds to milliseconds, 20 calls per operation.
  # shellcheck disable=SC2086
  timeout "${BENCH_TIMEOUT:-260}" bash .devkit/run.sh bench 'dev.perfusion.bench.cuda.*' -f 0 -wi 1 -i 3 -w 200ms -r 400ms \
      -rf json -rff "$OUT/jmh-$STAMP.json" ${JMH_ARGS:-} >"$OUT/jmh-$STAMP.log" 2>&1
  note "bench: exit $?; $(grep -c '^Result\|^# Run complete' "$OUT/jmh-$STAMP.log") result lines"
fi

if has torch; then
  # shellcheck disable=SC2086
  PYTHONUNBUFFERED=1 timeout "${TORCH_TIMEOUT:-150}" python3 perfusion-bench/src/main/python/torch_ops.py \
      --out "$OUT/torch-$STAMP.json" ${TORCH_ARGS:-} >>"$OUT/jmh-$STAMP.log" 2>&1
  note "torch: exit $?"
fi

if has compare && [[ -s "$OUT/jmh-$STAMP.json" && -s "$OUT/torch-$STAMP.json" ]]; then
  python3 perfusion-bench/src/main/python/torch_ops.py --compare "$OUT/jmh-$STAMP.json" "$OUT/torch-$STAMP.json" \
      >>"$OUT/summary-$STAMP.md" 2>&1
fi
note "done; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
