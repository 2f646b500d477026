package dev.perfusion.io;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;

/**
 * One tensor's entry in a safetensors header.
 *
 * @param name  the tensor's key, e.g. {@code down_blocks.0.resnets.0.conv1.weight}
 * @param dtype element type
 * @param shape axis sizes, row-major; {@code []} is a scalar
 * @param begin first byte, counted from the start of the data section (byte 8 + header length)
 * @param end   one past the last byte, counted likewise; {@code end − begin = numel · dtype size}
 */
public record TensorInfo(String name, DType dtype, Shape shape, long begin, long end) {

    /** Bytes of data: {@code end − begin}. */
    public long byteSize() {
        return end - begin;
    }

    /** Number of elements (1 for a scalar). */
    public long numel() {
        return shape.numel();
    }
}
