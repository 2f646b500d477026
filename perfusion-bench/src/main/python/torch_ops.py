#!/usr/bin/env python3
"""PyTorch yardstick for the single ops that perfusion-bench's GPU benchmarks time (dev.perfusion.bench.cuda).

Same shapes, same names, same timing method as the JMH benchmarks CudaGemmBench, CudaAttentionBench and
CudaConvBench: each sample enqueues CALLS back-to-back calls between two CUDA events (the launch queue stays
full) and the median sample / CALLS is the time per call; inputs are not rotated (as in the Java benchmarks).
Float32 runs WITHOUT TF32 (our float32 kernels are true fp32) unless --tf32.

  python3 torch_ops.py --out torch_ops.json                       # fp16 and fp32, all sections
  python3 torch_ops.py --dtypes fp16 --sections gemm,attention
  python3 torch_ops.py --compare jmh.json torch_ops.json          # Markdown table: ours vs PyTorch

Rows: op (gemm | attention | conv), layer (the Java benchmark's `layer` parameter), dtype (FLOAT16 | BFLOAT16 |
FLOAT32, the Java names), mode (fwd | fwd+bwd | fwd+dgrad | wgrad), us per call, flops, tflops. A 'peak' row per
dtype (an 8192^3 product) gives the GPU's measured matrix peak to rate the others against.
"""
import argparse
import json
import math
import statistics
import sys
import time

CALLS = 20
BATCH, HEADS = 2, 8

GEMM = {  # layer: (M, K, N), y[M,N] = x[M,K] @ W[N,K]^T  (CudaGemmBench.shape)
    "attn_proj_L0": (8192, 320, 320), "geglu_in_L0": (8192, 320, 2560), "ff_out_L0": (8192, 1280, 320),
    "attn_proj_L1": (2048, 640, 640), "attn_proj_L2": (512, 1280, 1280), "cross_kv_L2": (154, 768, 1280),
    "m8192_k1280_n5120": (8192, 1280, 5120),
}
ATTENTION = ["self_q4096_d40", "self_q1024_d80", "self_q256_d160", "self_q64_d160", "cross_q4096_d40",
             "cross_q1024_d80", "cross_q256_d160", "cross_q64_d160"]  # CudaAttentionBench layers
CONV = {  # layer: (n, c, o, hw, stride), 3x3 padding 1 (CudaConvBench.shape)
    "conv_in": (2, 4, 320, 64, 1), "res_L0": (2, 320, 320, 64, 1), "down_L0_s2": (2, 320, 320, 64, 2),
    "res_L1": (2, 640, 640, 32, 1), "res_L2": (2, 1280, 1280, 16, 1), "res_L3": (2, 1280, 1280, 8, 1),
}
DTYPES = {"fp16": "FLOAT16", "bf16": "BFLOAT16", "fp32": "FLOAT32"}


def attention_shape(layer):
    kind, q, d = layer.split("_")
    sq, dim = int(q[1:]), int(d[1:])
    return sq, (sq if kind == "self" else 77), dim


# FLOP counts: the same formulas as the Java benchmarks' static helpers
def gemm_flops(layer):
    m, k, n = GEMM[layer]
    return 2 * m * k * n


def attention_flops(layer, mode):
    sq, sk, d = attention_shape(layer)
    fwd = 4 * BATCH * HEADS * sq * sk * d
    return fwd if mode == "fwd" else fwd * 7 // 2


def conv_flops(layer, mode):
    n, c, o, hw, s = CONV[layer]
    out = (hw + 2 - 3) // s + 1
    fwd = 2 * n * o * out * out * c * 9
    return 2 * fwd if mode == "fwd+dgrad" else fwd


def flops_of(op, layer, mode):
    if op == "gemm":
        return gemm_flops(layer) if layer != "peak_8192" else 2 * 8192 ** 3
    if op == "attention":
        return attention_flops(layer, mode)
    return conv_flops(layer, mode)


def time_us(fn, warmup, samples):
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(samples):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(CALLS):
            fn()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) * 1e3 / CALLS)
    return statistics.median(ts), min(ts)


def run(args):
    import torch
    import torch.nn.functional as F
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(0)
    rows = []
    meta = dict(gpu=torch.cuda.get_device_name(0), torch=torch.__version__, cuda=torch.version.cuda,
                cudnn=torch.backends.cudnn.version(), tf32=args.tf32, calls=CALLS, samples=args.samples,
                date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def randn(shape, dtype, scale=1.0):
        return torch.randn(shape, generator=gen, device=dev, dtype=torch.float32).mul_(scale).to(dtype)

    def record(op, layer, dtname, mode, fn):
        try:
            us, us_min = time_us(fn, args.warmup, args.samples)
            fl = flops_of(op, layer, mode)
            rows.append(dict(op=op, layer=layer, dtype=DTYPES[dtname], mode=mode, us=us, min_us=us_min, flops=fl,
                             tflops=fl / (us * 1e-6) / 1e12))
            print(f"{op:9s} {layer:18s} {DTYPES[dtname]:8s} {mode:9s} {us:10.1f} us {rows[-1]['tflops']:8.2f} TFLOP/s",
                  flush=True)
        except Exception as e:  # noqa: BLE001 - report and go on
            rows.append(dict(op=op, layer=layer, dtype=DTYPES[dtname], mode=mode, error=f"{type(e).__name__}: {e}"))
            print(f"{op} {layer} {dtname} {mode}: {type(e).__name__}: {e}", flush=True)
        torch.cuda.empty_cache()

    for dtname in args.dtypes.split(","):
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[dtname]
        sections = args.sections.split(",")
        if "gemm" in sections:
            a, b = randn((8192, 8192), dtype), randn((8192, 8192), dtype, 1 / 90.5)
            record("gemm", "peak_8192", dtname, "fwd", lambda: torch.matmul(a, b))
            del a, b
            for layer, (m, k, n) in GEMM.items():
                x, w = randn((m, k), dtype), randn((n, k), dtype, 1 / math.sqrt(k))
                with torch.no_grad():
                    record("gemm", layer, dtname, "fwd", lambda: F.linear(x, w))
        if "attention" in sections:
            for layer in ATTENTION:
                sq, sk, d = attention_shape(layer)
                q = randn((BATCH, HEADS, sq, d), dtype).requires_grad_(True)
                k = randn((BATCH, HEADS, sk, d), dtype).requires_grad_(True)
                v = randn((BATCH, HEADS, sk, d), dtype).requires_grad_(True)
                do = randn((BATCH, HEADS, sq, d), dtype)

                def fwd():
                    with torch.no_grad():
                        return F.scaled_dot_product_attention(q, k, v)

                def fwd_bwd():
                    return torch.autograd.grad(F.scaled_dot_product_attention(q, k, v), (q, k, v), do)
                record("attention", layer, dtname, "fwd", fwd)
                record("attention", layer, dtname, "fwd+bwd", fwd_bwd)
        if "conv" in sections:
            for layer, (n, c, o, hw, s) in CONV.items():
                x = randn((n, c, hw, hw), dtype).requires_grad_(True)
                w = randn((o, c, 3, 3), dtype, 1 / math.sqrt(9 * c)).requires_grad_(True)
                bias = randn((o,), dtype, 0.1)
                out = (hw + 2 - 3) // s + 1
                dy = randn((n, o, out, out), dtype)

                def fwd():
                    with torch.no_grad():
                        return F.conv2d(x, w, bias, s, 1)

                def fwd_dgrad():
                    return torch.autograd.grad(F.conv2d(x, w.detach(), bias, s, 1), x, dy)

                def wgrad():
                    return torch.nn.grad.conv2d_weight(x.detach(), w.shape, dy, s, 1)
                record("conv", layer, dtname, "fwd", fwd)
                record("conv", layer, dtname, "fwd+dgrad", fwd_dgrad)
                record("conv", layer, dtname, "wgrad", wgrad)
    return dict(meta=meta, rows=rows)


JMH_MODES = {"CudaGemmBench.gemm": ("gemm", "fwd"), "CudaAttentionBench.forward": ("attention", "fwd"),
             "CudaAttentionBench.forwardBackward": ("attention", "fwd+bwd"), "CudaConvBench.forward": ("conv", "fwd"),
             "CudaConvBench.forwardDgrad": ("conv", "fwd+dgrad"), "CudaConvBench.backwardWeight": ("conv", "wgrad")}
TO_US = {"s/op": 1e6, "ms/op": 1e3, "us/op": 1.0, "ns/op": 1e-3}


def compare(jmh_path, torch_path):
    """Markdown table of our JMH times against the PyTorch rows of the same op, layer, dtype and mode."""
    with open(jmh_path) as f:
        jmh = json.load(f)
    with open(torch_path) as f:
        tor = json.load(f)
    ref = {(r["op"], r["layer"], r["dtype"], r["mode"]): r for r in tor["rows"] if "us" in r}
    peak = {r["dtype"]: r["tflops"] for r in tor["rows"] if r.get("layer") == "peak_8192" and "tflops" in r}
    out = ["| op | layer | dtype | mode | ours µs | PyTorch µs | ours / PyTorch (time) | ours TFLOP/s | "
           "PyTorch TFLOP/s | ours % of peak |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in jmh:
        key = ".".join(r["benchmark"].split(".")[-2:])  # e.g. CudaGemmBench.gemm
        if key not in JMH_MODES:
            continue
        op, mode = JMH_MODES[key]
        layer, dtype = r["params"]["layer"], r["params"]["dtype"]
        us = r["primaryMetric"]["score"] * TO_US.get(r["primaryMetric"]["scoreUnit"], float("nan"))
        fl = flops_of(op, layer, mode)
        ours_tf = fl / (us * 1e-6) / 1e12
        t = ref.get((op, layer, dtype, mode))
        t_us = t["us"] if t else float("nan")
        pk = peak.get(dtype)
        out.append(f"| {op} | {layer} | {dtype} | {mode} | {us:.1f} | {t_us:.1f} | {us / t_us:.2f}× | {ours_tf:.2f} | "
                   f"{(t['tflops'] if t else float('nan')):.2f} | {(100 * ours_tf / pk if pk else float('nan')):.1f} % |")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtypes", default="fp16,fp32")
    ap.add_argument("--sections", default="gemm,attention,conv")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 for fp32 (default: strict fp32)")
    ap.add_argument("--out", help="write the rows as JSON here")
    ap.add_argument("--compare", nargs=2, metavar=("JMH_JSON", "TORCH_JSON"), help="print the ratio table and exit")
    args = ap.parse_args(argv)
    if args.compare:
        sys.stdout.write(compare(*args.compare))
        return 0
    res = run(args)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
