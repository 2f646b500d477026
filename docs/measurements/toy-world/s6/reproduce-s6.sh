#!/usr/bin/env bash
# Session 6 (2026-12-08): the shipped toy model v6, the redesigned concepts' measurements and the evaluations.
# Run from the repository root after `mvn -B -q install -DskipTests`, with v5 (commit 7f8b4ba's models/toy-world) in $V5.
# One OpenMP thread per JVM (OMP_WAIT_POLICY=PASSIVE): two JVMs with ND4J's default two threads each on the 2-core
# VM slowed the evaluation about 15× (OpenMP barriers waiting on a descheduled thread).
set -eu
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=131072
J=examples/target/perfusion.jar
P="java -Xmx3g -Dorg.bytedeco.javacpp.maxphysicalbytes=0 -jar $J"
S=docs/measurements/toy-world/s6
V5=${V5:-v5}
V=$V5/vae

# v6 = v5 + 2 × 2,000 denoiser steps × 16, v5's zero-terminal-SNR schedule kept (≈ 27 min a chunk); VAE unchanged
$P toy-base --init $V5 --vae $V --unet-steps 2000 --scenes 25600 --seed 304 --out y4
$P toy-base --init y4 --vae $V --unet-steps 2000 --scenes 25600 --seed 305 --out y5     # = v6, shipped
for m in y4 y5; do
  java -Xmx3g -Dorg.bytedeco.javacpp.maxphysicalbytes=16g -jar $J toy-gate --model $m --scenes 100 --out gate-$m
done

# what the toy VAE does to colours and looks (docs/EVALUATION.md, "The concepts through the VAE")
java -cp $J $S/Hues.java $V     > $S/hues.txt          # flat squares of 30 hues → the colour the VAE gives back
java -cp $J $S/Lat.java $V      > $S/latents.txt       # their latent at the square's centre
java -cp $J $S/Cands.java $V    > $S/candidates.md     # candidate looks: the VAE's reconstruction beside plain stand-ins
java -cp $J $S/EvalCeil.java $V > $S/eval-ceiling.txt  # the evaluation's prompts rendered exactly, through the VAE

# the evaluation on v6 (JavaCPP's off-heap cap kept, as ./perfusion does) and the main command
./perfusion eval --out eval-v6-final
./perfusion demo
# the earlier runs, made with the first presence rule (commit 4060796's code: before ToyImageScore used the
# checker's matched object); their composition grids re-checked with the final rule
#   ./perfusion eval --model $V5 --out eval-v5;  ./perfusion eval --model y4 --out eval-y4
#   ./perfusion eval --out eval-v6;  ./perfusion eval --seed 1 --out eval-v6-seed1
#   ./perfusion eval --train-steps 300 --out eval-v6-300
java -cp $J $S/Rescore.java $S/eval-v5 $S/eval-y4 $S/eval-v6 $S/eval-v6-seed1 $S/eval-v6-300 > $S/rescore-composition.txt
