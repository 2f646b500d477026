package dev.perfusion.backend.nd4j;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.Shape;
import java.nio.ByteBuffer;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * Small helpers over ND4J arrays shared by the backend's op files. Every array made here is a fresh c-order
 * array owned by the caller, who must close it (or hand it to a tensor).
 *
 * <p>Pitfall avoided throughout: {@code INDArray.reshape('c', 24)} resolves to {@code reshape(long rows, long
 * cols)} with {@code 'c'} = 99 rows, so shapes are always passed as {@code long[]}.
 */
final class Nd4jArrays {
    private Nd4jArrays() {
    }

    /** The shape as ND4J wants it. */
    static long[] dims(Shape shape) {
        long[] d = new long[shape.rank()];
        for (int i = 0; i < d.length; i++) {
            d[i] = shape.dim(i);
        }
        return d;
    }

    /** The shape as ND4J wants it. */
    static long[] dims(int... shape) {
        long[] d = new long[shape.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = shape[i];
        }
        return d;
    }

    /** ND4J's element type for {@code dtype}. */
    static DataType dataType(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> DataType.FLOAT;
            case FLOAT16 -> DataType.HALF;
            case BFLOAT16 -> DataType.BFLOAT16;
            case INT32 -> DataType.INT;
            case INT64 -> DataType.LONG;
        };
    }

    /** A fresh, uninitialised c-order array (ND4J's empty array when a size is 0). */
    static INDArray alloc(DataType type, long... shape) {
        for (long d : shape) {
            if (d == 0) {
                return Nd4j.create(type, shape);
            }
        }
        return Nd4j.createUninitialized(type, shape, 'c');
    }

    /** A fresh uninitialised FLOAT array. */
    static INDArray allocFloat(long... shape) {
        return alloc(DataType.FLOAT, shape);
    }

    /** A fresh zero-filled FLOAT array. */
    static INDArray zerosFloat(long... shape) {
        INDArray a = allocFloat(shape);
        if (a.length() > 0) {
            a.assign(0);
        }
        return a;
    }

    /** Runs libnd4j custom op {@code name} with explicit outputs and integer arguments. */
    static void exec(String name, INDArray[] inputs, INDArray[] outputs, int... iArgs) {
        DynamicCustomOp.DynamicCustomOpsBuilder b = DynamicCustomOp.builder(name).addInputs(inputs).addOutputs(outputs);
        if (iArgs.length > 0) {
            b.addIntegerArguments(iArgs);
        }
        Nd4j.exec(b.build());
    }

    /** out = f(a, b) with NumPy broadcasting; {@code name} is a libnd4j broadcastable op (add, multiply, ...). */
    static void broadcastOp(String name, INDArray a, INDArray b, INDArray out) {
        exec(name, new INDArray[] {a, b}, new INDArray[] {out});
    }

    /**
     * A row-major [rows, cols] view of the c-contiguous array {@code a}, starting {@code offset} elements into it.
     * Used to address one matrix of a batch without ND4J's slice(), whose result rank depends on sizes of 1.
     */
    static INDArray matrix(INDArray a, long offset, long rows, long cols) {
        return Nd4j.create(a.data(), new long[] {rows, cols}, new long[] {cols, 1}, a.offset() + offset, 'c',
                a.dataType());
    }

    /**
     * c = alpha·op(a)·op(b) for every matrix of the c-contiguous rank-3 arrays a [n, ·, ·], b [n, ·, ·] and c
     * [n, M, N], op transposing the last two axes when its flag is set. Small matrices (at most
     * {@value #SMALL_GEMM_MACS} multiply-adds each) go to libnd4j's batched {@code matmul} in one call: a loop of
     * {@code Nd4j.gemm} costs about 55 µs per matrix in JNI and view set-up, and the batched call measured about
     * 10× faster for 64 heads of [64, 8]·[8, 77]. Larger ones go to OpenBLAS one matrix at a time, which the
     * batched op does not beat (engine-notes §2a) and, given a transposed operand, loses to by far (measured 5×
     * slower on a [1232, 64]ᵀ·[1232, 256] weight gradient).
     */
    static void batchedGemm(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB,
                            double alpha) {
        long n = c.size(0);
        long k = transposeA ? a.size(1) : a.size(2);
        if (n > 1 && c.size(1) * c.size(2) * k <= SMALL_GEMM_MACS) {
            Nd4j.exec(new Mmul(a, b, c, alpha, 0.0,
                    MMulTranspose.builder().transposeA(transposeA).transposeB(transposeB).build()));
            return;
        }
        long aSize = a.size(1) * a.size(2);
        long bSize = b.size(1) * b.size(2);
        long cSize = c.size(1) * c.size(2);
        for (long i = 0; i < n; i++) {
            Nd4j.gemm(matrix(a, i * aSize, a.size(1), a.size(2)), matrix(b, i * bSize, b.size(1), b.size(2)),
                    matrix(c, i * cSize, c.size(1), c.size(2)), transposeA, transposeB, alpha, 0.0);
        }
    }

    /** Multiply-adds per matrix up to which {@link #batchedGemm} makes one batched call. */
    static final long SMALL_GEMM_MACS = 1L << 20;

    /** A c-order view of the c-contiguous array {@code a} with {@code shape}, {@code offset} elements in. */
    static INDArray view(INDArray a, long offset, long... shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= shape[i];
        }
        return Nd4j.create(a.data(), shape, strides, a.offset() + offset, 'c', a.dataType());
    }

    /** {@code a} reshaped (a view of a c-contiguous array). */
    static INDArray reshape(INDArray a, long... shape) {
        return a.reshape('c', shape);
    }

    /** Closes arrays made by this backend (null-safe; never pass a tensor's handle or a view of one). */
    static void free(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (a != null && a.closeable()) {
                a.close();
            }
        }
    }

    /** Row-major host copy of a FLOAT array. */
    static float[] toFloats(INDArray a) {
        long n = a.length();
        if (n == 0) {
            return new float[0];
        }
        if (a.dataType() != DataType.FLOAT) {
            INDArray f = a.castTo(DataType.FLOAT);
            try {
                return toFloats(f);
            } finally {
                free(f);
            }
        }
        if (isWholeBuffer(a)) {
            return a.data().asFloat();
        }
        INDArray c = a.dup('c');
        try {
            return c.data().asFloat();
        } finally {
            free(c);
        }
    }

    /** Row-major host copy of an INT or LONG array, widened to long. */
    static long[] toLongs(INDArray a) {
        long n = a.length();
        if (n == 0) {
            return new long[0];
        }
        INDArray c = isWholeBuffer(a) ? a : a.dup('c');
        try {
            if (c.dataType() == DataType.LONG) {
                return c.data().asLong();
            }
            int[] ints = c.data().asInt();
            long[] out = new long[ints.length];
            for (int i = 0; i < ints.length; i++) {
                out[i] = ints[i];
            }
            return out;
        } finally {
            if (c != a) {
                free(c);
            }
        }
    }

    /** True when {@code a} is exactly its whole buffer in row-major order (so the buffer can be read directly). */
    private static boolean isWholeBuffer(INDArray a) {
        return !a.isView() && a.offset() == 0 && a.data().length() == a.length() && a.ordering() == 'c';
    }

    /**
     * For each flat index of the batch shape {@code out}, the flat index into the batch shape {@code src}
     * broadcast to it (NumPy rules, aligned from the right).
     */
    static int[] broadcastIndex(int[] out, int[] src) {
        int rank = out.length;
        long[] strides = new long[rank];
        long acc = 1;
        for (int k = src.length - 1; k >= 0; k--) {
            int o = k + rank - src.length;
            strides[o] = src[k] == 1 ? 0 : acc;
            acc *= src[k];
        }
        long count = 1;
        for (int d : out) {
            count *= d;
        }
        int[] idx = new int[Math.toIntExact(count)];
        int[] coord = new int[rank];
        long offset = 0;
        for (int i = 0; i < idx.length; i++) {
            idx[i] = (int) offset;
            for (int k = rank - 1; k >= 0; k--) {
                coord[k]++;
                offset += strides[k];
                if (coord[k] < out[k]) {
                    break;
                }
                offset -= strides[k] * out[k];
                coord[k] = 0;
            }
        }
        return idx;
    }

    /** Product of {@code dims[from..to)}. */
    static int product(int[] dims, int from, int to) {
        long p = 1;
        for (int k = from; k < to; k++) {
            p *= dims[k];
        }
        return Math.toIntExact(p);
    }

    /** True when {@code a} holds a NaN. */
    static boolean hasNaN(INDArray a) {
        return BooleanIndexing.or(a, Conditions.isNan());
    }

    /** y with NaN wherever a or b (broadcast) is NaN: a fresh array. */
    static INDArray nanMask(INDArray a, INDArray b, INDArray y) {
        INDArray na = nanFlags(a);
        INDArray nb = nanFlags(b);
        INDArray flag = allocFloat(y.shape());
        try {
            Nd4jArrays.broadcastOp("add", na, nb, flag);
            float[] f = Nd4jArrays.toFloats(flag);
            float[] v = Nd4jArrays.toFloats(y);
            for (int i = 0; i < v.length; i++) {
                if (f[i] != 0) {
                    v[i] = Float.NaN;
                }
            }
            return Nd4j.create(v, y.shape(), 'c');
        } finally {
            free(na, nb, flag);
        }
    }

    /** 1 where {@code a} is NaN, else 0: a fresh FLOAT array. */
    static INDArray nanFlags(INDArray a) {
        INDArray bool = a.isNaN();
        try {
            return bool.castTo(DataType.FLOAT);
        } finally {
            free(bool);
        }
    }

    /** Big-endian hosts: element-wise copy from the little-endian bytes. */
    static void copyConverting(ByteBuffer bytes, DType dtype, INDArray a) {
        int n = Math.toIntExact(a.length());
        switch (dtype) {
            case FLOAT32 -> {
                float[] v = new float[n];
                bytes.asFloatBuffer().get(v);
                a.data().setData(v);
            }
            case FLOAT16, BFLOAT16 -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    short bits = bytes.getShort(2 * i);
                    v[i] = dtype == DType.FLOAT16 ? HalfFloats.fp16ToFloat(bits) : HalfFloats.bf16ToFloat(bits);
                }
                a.data().setData(v);
            }
            case INT32 -> {
                int[] v = new int[n];
                bytes.asIntBuffer().get(v);
                a.data().setData(v);
            }
            case INT64 -> {
                long[] v = new long[n];
                bytes.asLongBuffer().get(v);
                a.data().setData(v);
            }
            default -> throw new AssertionError(dtype);
        }
    }
}
