package dev.perfusion.cuda.driver;

/**
 * Grid or block dimensions of a kernel launch. Every component must be at least 1 (checked by
 * {@link CudaKernel#launch}); {@link #toString()} prints {@code (x,y,z)} for error messages.
 *
 * @param x size along x
 * @param y size along y
 * @param z size along z
 */
public record Dim3(int x, int y, int z) {

    /** {@code (x, 1, 1)}. */
    public static Dim3 of(int x) {
        return new Dim3(x, 1, 1);
    }

    /** {@code (x, y, 1)}. */
    public static Dim3 of(int x, int y) {
        return new Dim3(x, y, 1);
    }

    /** {@code (x, y, z)}. */
    public static Dim3 of(int x, int y, int z) {
        return new Dim3(x, y, z);
    }

    /** x·y·z, as a long (a grid may hold more than 2³¹ blocks). */
    public long volume() {
        return (long) x * y * z;
    }

    @Override
    public String toString() {
        return "(" + x + "," + y + "," + z + ")";
    }
}
