package dev.perfusion.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.Shape;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The host side of the strided kernels, on the CPU: collapsing keeps every operand's offset of every element, and
 * layouts are merged as far as they can be. Also the embedding backward's grouping of token positions by id.
 */
@Tag("unit")
class StridedLayoutTest {

    /** Offsets of every element of the original layout, by brute force. */
    private static long[] offsets(int[] dims, long[] strides) {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        long[] out = new long[(int) n];
        for (int i = 0; i < n; i++) {
            long rem = i;
            long off = 0;
            for (int k = dims.length - 1; k >= 0; k--) {
                off += (rem % dims[k]) * strides[k];
                rem /= dims[k];
            }
            out[i] = off;
        }
        return out;
    }

    private static void assertSameOffsets(int[] dims, long[]... strides) {
        StridedLayout l = StridedLayout.collapse(dims, strides);
        for (int o = 0; o < strides.length; o++) {
            long[] expected = offsets(dims, strides[o]);
            assertEquals(expected.length, l.count());
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], l.offset(o, i), "operand " + o + " element " + i + " of " + l);
            }
        }
    }

    @Test
    void contiguousCollapsesToOneAxis() {
        int[] dims = {2, 3, 4, 5};
        long[] s = StridedLayout.contiguous(dims);
        StridedLayout l = StridedLayout.collapse(dims, s, s);
        assertArrayEquals(new long[] {120}, l.dims());
        assertArrayEquals(new long[] {1}, l.strides()[0]);
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 120}, l.paddedDims());
        assertArrayEquals(new long[] {0, 0, 0, 0, 0, 1}, l.paddedStrides(0));
    }

    @Test
    void broadcastBiasOverChannelsKeepsThreeAxes() {
        // [2, 320, 64, 64] + bias [320, 1, 1]: the bias has stride 0 over n and over the spatial axes
        Shape out = Shape.of(2, 320, 64, 64);
        long[] a = out.strides();
        long[] b = CudaShapeOps.broadcastStrides(Shape.of(320, 1, 1), out);
        assertArrayEquals(new long[] {0, 1, 0, 0}, b);
        StridedLayout l = StridedLayout.collapse(out.dims(), a, b, StridedLayout.contiguous(out.dims()));
        assertArrayEquals(new long[] {2, 320, 4096}, l.dims());
        assertArrayEquals(new long[] {0, 1, 0}, l.strides()[1]);
    }

    @Test
    void permutationsAndBroadcastsKeepEveryOffset() {
        SplittableRandom r = new SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            int rank = 1 + r.nextInt(6);
            int[] dims = new int[rank];
            for (int k = 0; k < rank; k++) {
                dims[k] = 1 + r.nextInt(4);
            }
            long[] contiguous = StridedLayout.contiguous(dims);
            long[] permuted = contiguous.clone();
            for (int k = rank - 1; k > 0; k--) { // a random permutation of the strides
                int j = r.nextInt(k + 1);
                long t = permuted[k];
                permuted[k] = permuted[j];
                permuted[j] = t;
            }
            long[] broadcast = contiguous.clone();
            for (int k = 0; k < rank; k++) {
                if (r.nextInt(3) == 0) {
                    broadcast[k] = 0;
                }
            }
            assertSameOffsets(dims, permuted, contiguous);
            assertSameOffsets(dims, broadcast, permuted, contiguous);
        }
    }

    @Test
    void moreThanSixAxesSplitIntoAHostLoop() {
        int[] dims = {2, 3, 2, 3, 2, 3, 2, 3};
        long[] s = StridedLayout.contiguous(dims);
        long[] t = new long[dims.length]; // a transpose of every pair, so that nothing merges
        for (int k = 0; k < dims.length; k += 2) {
            t[k] = s[k + 1];
            t[k + 1] = s[k];
        }
        StridedLayout l = StridedLayout.collapse(dims, t, s);
        assertFalse(l.fits());
        StridedLayout inner = l.inner();
        StridedLayout outer = l.outer();
        assertTrue(inner.fits());
        assertEquals(l.count(), inner.count() * outer.count());
        long[] expected = offsets(dims, t);
        int i = 0;
        for (long o = 0; o < outer.count(); o++) {
            for (long e = 0; e < inner.count(); e++) {
                assertEquals(expected[i++], outer.offset(0, o) + inner.offset(0, e));
            }
        }
    }

    @Test
    void embeddingPositionsAreGroupedByIdInOrder() {
        long[] ids = {5, 2, 5, 9, 2, 5};
        CudaEmbedding.Csr g = CudaEmbedding.Csr.group(ids);
        assertArrayEquals(new int[] {2, 5, 9}, g.rowIds());
        assertArrayEquals(new int[] {0, 2, 5, 6}, g.starts());
        assertArrayEquals(new int[] {1, 4, 0, 2, 5, 3}, g.positions());
        assertEquals(0, CudaEmbedding.Csr.group(new long[0]).rowIds().length);
    }
}
