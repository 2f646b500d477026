package dev.perfusion.cuda.kernels;

import dev.perfusion.cuda.driver.KernelArgs;
import jcuda.driver.CUdeviceptr;

/**
 * {@link KernelArgs} that also records the C type of each parameter ({@code p} pointer, {@code i} int,
 * {@code l} long long, {@code f} float), so that a CPU test can check every launcher against the parameter list
 * of its kernel in the shipped PTX: a mismatch would otherwise only show as wrong results on a GPU.
 */
final class Args {
    private final KernelArgs args = KernelArgs.create();
    private final StringBuilder signature = new StringBuilder();

    Args p(CUdeviceptr x) {
        args.ptr(x);
        signature.append('p');
        return this;
    }

    Args i(int v) {
        args.i32(v);
        signature.append('i');
        return this;
    }

    Args l(long v) {
        args.i64(v);
        signature.append('l');
        return this;
    }

    Args f(float v) {
        args.f32(v);
        signature.append('f');
        return this;
    }

    /** What {@link dev.perfusion.cuda.driver.CudaKernel#launch} takes. */
    KernelArgs kernelArgs() {
        return args;
    }

    /** The parameter types in order, e.g. {@code "pppiiiiiilll"}. */
    String signature() {
        return signature.toString();
    }
}
