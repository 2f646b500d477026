#!/usr/bin/env bash
# How the shipped toy model v4 (models/toy-world; v3 is the same one chunk earlier) was trained, step by step, on the 2-core VM (2026-11-21).
# Each step writes a complete model folder, so a run can stop after any of them and continue later.
# Environment used: OMP_NUM_THREADS=1 (one OpenMP thread per JVM; two JVMs ran side by side),
# PERFUSION_JAVA_OPTS="-Xmx3g -Dorg.bytedeco.javacpp.maxphysicalbytes=0" (no JavaCPP RSS check: 20 % faster
# steps at these tiny shapes; the toy model needs < 6 GB).
set -euo pipefail
P=./perfusion
$P toy-base --out v1                                            # VAE 600 steps, denoiser 700 steps   (≈ 35 min)
$P toy-base --init v1 --vae v1/vae --unet-steps 600 --out v2    # denoiser +600                       (≈ 15 min)
# denoiser: 3 more chunks of 1,000 steps (warm-up and cosine decay restart in each)  (24–32 min each)
$P toy-base --init v2 --vae v2/vae --unet-steps 1000 --out c1
$P toy-base --init c1 --vae v2/vae --unet-steps 1000 --out c2
$P toy-base --init c2 --vae v2/vae --unet-steps 1000 --out c3
$P toy-base --init c3 --vae d2/vae --unet-steps 1000 --out c4   # (the VAE only encodes: v2's and d2's encoders are equal)
# decoder: 2 chunks of 1,000 steps, encoder frozen, object pixels weighted ×5 (can run beside the denoiser chunks:
# the latents the denoiser learns are the encoder's, which does not change)              (20–27 min each)
$P toy-base --init v2 --vae v2/vae --decoder-steps 1000 --unet-steps 0 --out d1
$P toy-base --init v2 --vae d1/vae --decoder-steps 1000 --unet-steps 0 --out d2
# v3 = c3's UNet and text encoder with d2's VAE; v4 (shipped) = c4's with d2's VAE
$P toy-base --init c3 --vae d2/vae --unet-steps 0 --out v3
$P toy-base --init c4 --vae d2/vae --unet-steps 0 --out v4
$P toy-gate --model v4 --scenes 100
