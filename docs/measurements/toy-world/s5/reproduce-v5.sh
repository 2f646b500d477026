#!/usr/bin/env bash
# Session 5 (2026-12-07): how the shipped toy model v5 (models/toy-world) was trained from v4, and the runs beside it.
# v4 is the model of ../v3/reproduce-v3.sh. Each command writes a complete model folder (VAE = v4's, unchanged).
# One OpenMP thread per JVM; two runs shared the 2-core VM. Every run is deterministic for its seed: c5 and z1 below
# reproduced session 4's losses and gate tables exactly.
set -eu
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=131072
P="java -Xmx3g -Dorg.bytedeco.javacpp.maxphysicalbytes=0 -jar examples/target/perfusion.jar"
V4=models/toy-world      # before this session's commit: v4
V=$V4/vae

# the shipped chain: zero terminal SNR + v-prediction straight from v4, chunks of 2,000 steps × 16 (≈ 27–31 min each)
$P toy-base --init $V4 --vae $V --unet-steps 2000 --scenes 25600 --seed 301 --zero-terminal-snr --out y1
$P toy-base --init y1 --vae $V --unet-steps 2000 --scenes 25600 --seed 302 --out y2   # keeps y1's schedule
$P toy-base --init y2 --vae $V --unet-steps 2000 --scenes 25600 --seed 303 --out y3   # = v5, shipped
# The next chunk, y4 (--init y3 --seed 304, same flags), was started but lost with a stalled session: not part of v5.

# session 4's path, for comparison: 2,000 ε steps first, then zero terminal SNR (z1 = session 4's z1)
$P toy-base --init $V4 --vae $V --unet-steps 2000 --scenes 25600 --seed 105 --out c5
$P toy-base --init c5 --vae $V --unet-steps 2000 --scenes 25600 --seed 201 --zero-terminal-snr --out z1

for m in y1 y2 y3 z1; do $P toy-gate --model $m --scenes 100 --out gate-$m; done
