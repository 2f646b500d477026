package dev.perfusion.cuda;

import dev.perfusion.cuda.driver.DeviceBuffer;
import jcuda.driver.CUdeviceptr;

/**
 * What {@link dev.perfusion.tensor.Tensor#handle()} holds for a CUDA tensor: its device buffer and the element
 * offset of its first element. Every tensor the backend makes is contiguous row-major from that element.
 *
 * @param buffer        the device buffer (owned by the tensor's {@link CudaStorage})
 * @param elementOffset offset of element 0, in elements of the tensor's dtype
 */
public record CudaHandle(DeviceBuffer buffer, long elementOffset) {

    /** The device address of element 0, for a tensor whose elements are {@code elementBytes} wide. */
    public CUdeviceptr pointer(int elementBytes) {
        return buffer.pointer(elementOffset * elementBytes);
    }
}
