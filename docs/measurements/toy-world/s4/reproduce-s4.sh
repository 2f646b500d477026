#!/usr/bin/env bash
# Session 4 (2026-11-21): the experiments after v4 (c5, c6, z1), from the v4 folders of ../v3/reproduce-v3.sh (c4 = v4's denoiser, d2 = its VAE).
# One OpenMP thread each; two runs shared the 2-core VM. Each command writes a complete model folder.
set -eu
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=131072
P="java -Xmx3g -Dorg.bytedeco.javacpp.maxphysicalbytes=0 -jar examples/target/perfusion.jar"

# ε-prediction on SD's schedule, continued (c5 = v4 + 2,000 steps, 25,600 encoded scenes, its own seed)
$P toy-base --init c4 --vae d2/vae --unet-steps 2000 --scenes 25600 --seed 105 --out c5
$P toy-base --init c5 --vae d2/vae --unet-steps 2000 --scenes 25600 --seed 106 --out c6

# the same start switched to zero terminal SNR + v-prediction (Lin et al. 2023)
$P toy-base --init c5 --vae d2/vae --unet-steps 2000 --scenes 25600 --seed 201 --zero-terminal-snr --out z1

# the 3-level UNet experiment (block_out_channels 32, 64, 64) was run from a build with that ToyModelConfigs.unet();
# it is not a command-line option: x3a = 1,500 steps from scratch on d2's VAE
for m in c5 c6 z1; do $P toy-gate --model $m --scenes 100 --out gate-$m; done
