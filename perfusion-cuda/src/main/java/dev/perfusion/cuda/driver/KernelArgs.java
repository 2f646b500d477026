package dev.perfusion.cuda.driver;

import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * The parameters of one kernel launch, in the order of the kernel's C signature. Each value is captured when it
 * is added (the driver copies the parameter values when the launch is enqueued), so a {@code KernelArgs} may be
 * reused but never needs to be.
 *
 * <p>Types must match the kernel exactly: {@link #ptr} for a pointer, {@link #i32} for {@code int},
 * {@link #i64} for {@code long long}, {@link #f32} for {@code float}. A mismatch is not detectable by the driver
 * and gives wrong results, which is why every launcher in this module has a test against the reference backend.
 */
public final class KernelArgs {
    private final List<Pointer> params = new ArrayList<>();
    private final StringBuilder description = new StringBuilder();

    private KernelArgs() {
    }

    /** An empty argument list. */
    public static KernelArgs create() {
        return new KernelArgs();
    }

    /** Appends a device pointer (a null or zero pointer is passed as {@code nullptr}). */
    public KernelArgs ptr(CUdeviceptr p) {
        params.add(Pointer.to(p == null ? new CUdeviceptr() : p));
        note("ptr");
        return this;
    }

    /** Appends an {@code int}. */
    public KernelArgs i32(int v) {
        params.add(Pointer.to(new int[] {v}));
        note(Integer.toString(v));
        return this;
    }

    /** Appends a {@code long long}. */
    public KernelArgs i64(long v) {
        params.add(Pointer.to(new long[] {v}));
        note(Long.toString(v));
        return this;
    }

    /** Appends each value as a {@code long long}, in order (axis sizes or strides). */
    public KernelArgs i64s(long... values) {
        for (long v : values) {
            i64(v);
        }
        return this;
    }

    /** Appends a {@code float}. */
    public KernelArgs f32(float v) {
        params.add(Pointer.to(new float[] {v}));
        note(Float.toString(v));
        return this;
    }

    /** Number of parameters added. */
    public int size() {
        return params.size();
    }

    /** The parameter array as {@code cuLaunchKernel} wants it (a pointer to pointers to each value). */
    Pointer toPointer() {
        return Pointer.to(params.toArray(new Pointer[0]));
    }

    /** The scalar values, for error messages ({@code ptr} for pointers). */
    @Override
    public String toString() {
        return "(" + description + ")";
    }

    private void note(String s) {
        if (description.length() > 0) {
            description.append(", ");
        }
        description.append(s);
    }
}
