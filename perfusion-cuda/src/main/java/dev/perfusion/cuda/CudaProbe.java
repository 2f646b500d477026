package dev.perfusion.cuda;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import jcuda.CudaException;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * Finds out, once per JVM, whether the CUDA driver API can be used here, and if not, why.
 *
 * <p>The probe runs on first use and its answer is cached: JCuda loads its native library in a static
 * initialiser, so a second attempt after a failure only yields an uninformative
 * {@code NoClassDefFoundError: Could not initialize class jcuda.driver.JCudaDriver}; the first failure is the
 * one that names the missing library, and it is kept. No JCuda type appears in this class's public API.
 *
 * <p>Failure modes it turns into a reason (measured, see the project's engine notes §5):
 * <ul>
 *   <li>no NVIDIA driver: loading {@code libJCudaDriver} fails with an {@link UnsatisfiedLinkError} that names
 *       {@code libcuda.so.1};</li>
 *   <li>a driver but no usable device: {@code cuInit} or {@code cuDeviceGetCount} throws a
 *       {@code CudaException} such as {@code CUDA_ERROR_NO_DEVICE}, or the count is 0.</li>
 * </ul>
 */
public final class CudaProbe {

    /**
     * One CUDA device as the driver reports it.
     *
     * @param ordinal          device index for {@code cuDeviceGet}
     * @param name             marketing name, e.g. {@code NVIDIA H100 80GB HBM3}
     * @param major            compute capability, major part (e.g. 9 for sm_90)
     * @param minor            compute capability, minor part
     * @param totalMemoryBytes global memory in bytes
     */
    public record Device(int ordinal, String name, int major, int minor, long totalMemoryBytes) {
        /** Compute capability as a number comparable with {@code 7.5}: major + minor / 10. */
        public double computeCapability() {
            return major + minor / 10.0;
        }

        /** e.g. {@code "#0 NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)"}. */
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "#%d %s (sm_%d%d, %.1f GiB)", ordinal, name, major, minor,
                    totalMemoryBytes / (1024.0 * 1024 * 1024));
        }
    }

    /** What the probe found: devices when it worked, otherwise the reason. */
    private record Result(List<Device> devices, int driverVersion, String reason) {
    }

    private CudaProbe() {
    }

    // Lazy holder: the probe (which may take ~60 ms and extracts a native library) runs on first use only,
    // and the JVM guarantees it runs exactly once even with concurrent callers.
    private static final class Holder {
        static final Result RESULT = probe();
    }

    /** True when the driver loaded and reported at least one device. */
    public static boolean available() {
        return Holder.RESULT.reason() == null;
    }

    /**
     * Empty when {@link #available()}, else a one-line reason, e.g.
     * {@code "libcuda.so.1 not found (no NVIDIA driver): …"} or {@code "no CUDA device: the driver reports CUDA_ERROR_NO_DEVICE"}.
     */
    public static Optional<String> unavailableReason() {
        return Optional.ofNullable(Holder.RESULT.reason());
    }

    /** The devices found (empty when none or when the driver could not be loaded). */
    public static List<Device> devices() {
        return Holder.RESULT.devices();
    }

    /** The driver's CUDA version as {@code cuDriverGetVersion} encodes it (e.g. 13000 for 13.0); 0 if unknown. */
    public static int driverVersion() {
        return Holder.RESULT.driverVersion();
    }

    /** A one-line human summary: the devices and driver version, or the reason there is no GPU. */
    public static String summary() {
        Result r = Holder.RESULT;
        if (r.reason() != null) {
            return "CUDA unavailable: " + r.reason();
        }
        return String.format(Locale.ROOT, "CUDA driver %d.%d, %d device(s): %s", r.driverVersion() / 1000,
                (r.driverVersion() % 1000) / 10, r.devices().size(), r.devices());
    }

    private static Result probe() {
        try {
            // Errors as exceptions, so that a failing call cannot be mistaken for a device count of 0.
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] version = {0};
            JCudaDriver.cuDriverGetVersion(version);
            int[] count = {0};
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] <= 0) {
                return new Result(List.of(), version[0], "no CUDA device (the driver loaded but reports 0 devices)");
            }
            List<Device> devices = new ArrayList<>();
            for (int i = 0; i < count[0]; i++) {
                devices.add(describe(i));
            }
            return new Result(List.copyOf(devices), version[0], null);
        } catch (LinkageError e) {
            // UnsatisfiedLinkError on first touch, NoClassDefFoundError if JCudaDriver already failed to load
            return new Result(List.of(), 0, linkageReason(e));
        } catch (CudaException e) {
            return new Result(List.of(), 0, cudaReason(e));
        } catch (RuntimeException e) {
            return new Result(List.of(), 0, "the CUDA driver probe failed: " + firstLine(e.toString()));
        }
    }

    private static Device describe(int ordinal) {
        CUdevice dev = new CUdevice();
        JCudaDriver.cuDeviceGet(dev, ordinal);
        byte[] name = new byte[256];
        JCudaDriver.cuDeviceGetName(name, name.length, dev);
        int[] major = {0};
        int[] minor = {0};
        JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
        JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
        long[] mem = {0};
        JCudaDriver.cuDeviceTotalMem(mem, dev);
        return new Device(ordinal, cString(name), major[0], minor[0], mem[0]);
    }

    /** The reason for a native-library failure, naming the missing driver when that is the cause. */
    static String linkageReason(Throwable e) {
        String all = fullText(e);
        if (all.contains("libcuda.so")) {
            return "libcuda.so.1 not found (no NVIDIA driver): " + firstLine(e.toString());
        }
        if (all.contains("nvcuda.dll")) {
            return "nvcuda.dll not found (no NVIDIA driver): " + firstLine(e.toString());
        }
        return "the JCuda driver library could not be loaded (no NVIDIA driver, or an unsupported platform): "
                + firstLine(e.toString());
    }

    /** The reason for a CUDA error code reported by the driver. */
    static String cudaReason(CudaException e) {
        String msg = String.valueOf(e.getMessage());
        if (msg.contains("NO_DEVICE")) {
            return "no CUDA device: the driver reports " + firstLine(msg);
        }
        if (msg.contains("INSUFFICIENT_DRIVER") || msg.contains("COMPAT_NOT_SUPPORTED")) {
            return "the NVIDIA driver is too old for JCuda 12.6: " + firstLine(msg);
        }
        return "the CUDA driver failed: " + firstLine(msg);
    }

    /** Message, causes and suppressed exceptions as one string: the library name may sit in any of them. */
    private static String fullText(Throwable e) {
        StringWriter w = new StringWriter();
        e.printStackTrace(new PrintWriter(w));
        return w.toString();
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        t = nl < 0 ? t : t.substring(0, nl).strip();
        // JCuda's message repeats whole stack traces; keep the reason readable in one log line
        return t.length() > 300 ? t.substring(0, 300) + "…" : t;
    }

    private static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) {
            n++;
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }
}
