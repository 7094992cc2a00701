package ckpt.engine.cuda;

import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;
import static org.bytedeco.cuda.global.cudart.CUDA_SUCCESS;

/**
 * One GPU through CUDA's driver API (JavaCPP's bindings): its primary context and the engine's kernels, loaded from
 * the fatbin resource built by {@code src/main/cuda/build_kernels.sh}. Only the driver API is called; libcudart.so.13
 * must still be present because JavaCPP's JNI library links it.
 */
final class CudaDevice implements AutoCloseable {
    static final String KERNELS = "ckpt_kernels.fatbin";
    private static String bindingProblem; // null: not tried yet; "": loaded
    private static final Pattern MISSING_LIBRARY = Pattern.compile("(lib[\\w.+-]+\\.so[.\\d]*): cannot open shared object file");

    final int ordinal;
    final String description;
    final int multiprocessors;
    private final CUctx_st context;
    private final CUmod_st module;
    final CUfunc_st convert;
    final CUfunc_st transpose;

    private CudaDevice(int ordinal, String description, int multiprocessors, CUctx_st context, CUmod_st module, CUfunc_st convert, CUfunc_st transpose) {
        this.ordinal = ordinal;
        this.description = description;
        this.multiprocessors = multiprocessors;
        this.context = context;
        this.module = module;
        this.convert = convert;
        this.transpose = transpose;
    }

    /** Loads the bindings, initialises the driver and loads the kernels on device {@code ordinal}. */
    static CudaDevice open(int ordinal) throws CudaUnavailableException {
        loadBindings();
        require(cudart.cuInit(0), "cuInit");
        int[] count = new int[1];
        require(cudart.cuDeviceGetCount(count), "cuDeviceGetCount");
        if (count[0] == 0) throw new CudaUnavailableException("no CUDA device is visible (CUDA_VISIBLE_DEVICES?)");
        if (ordinal < 0 || ordinal >= count[0])
            throw new CudaUnavailableException("CUDA device " + ordinal + " does not exist (" + count[0] + " visible)");
        int[] device = new int[1];
        require(cudart.cuDeviceGet(device, ordinal), "cuDeviceGet");
        byte[] name = new byte[256];
        require(cudart.cuDeviceGetName(name, name.length, device[0]), "cuDeviceGetName");
        int major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device[0]);
        int minor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device[0]);
        int sms = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device[0]);
        if (major < 8) throw new CudaUnavailableException(cString(name) + " is sm_" + major + minor + "; the cuda engine's kernels need sm_80 or newer");
        int[] driver = new int[1];
        require(cudart.cuDriverGetVersion(driver), "cuDriverGetVersion");

        CUctx_st context = new CUctx_st();
        require(cudart.cuDevicePrimaryCtxRetain(context, device[0]), "cuDevicePrimaryCtxRetain");
        require(cudart.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        CUmod_st module = new CUmod_st();
        try (BytePointer image = new BytePointer(kernelImage())) {
            int rc = cudart.cuModuleLoadData(module, image);
            if (rc != CUDA_SUCCESS) {
                cudart.cuDevicePrimaryCtxRelease(device[0]);
                throw new CudaUnavailableException("cannot load the cuda engine's kernels on " + cString(name) + ": " + errorName(rc)
                        + (rc == cudart.CUDA_ERROR_UNSUPPORTED_PTX_VERSION ? " (the NVIDIA driver is older than CUDA 13.0)" : ""));
            }
        }
        CUfunc_st convert = new CUfunc_st(), transpose = new CUfunc_st();
        require(cudart.cuModuleGetFunction(convert, module, "ckpt_convert"), "cuModuleGetFunction");
        require(cudart.cuModuleGetFunction(transpose, module, "ckpt_transpose"), "cuModuleGetFunction");
        String description = String.format(Locale.ROOT, "%s (sm_%d%d, %d SMs), CUDA driver %d.%d", cString(name), major, minor, sms,
                driver[0] / 1000, driver[0] % 1000 / 10);
        return new CudaDevice(device[0], description, sms, context, module, convert, transpose);
    }

    /** Makes this device's context current on the calling thread (each executor worker calls this before its work). */
    void makeCurrent() {
        check(cudart.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    @Override
    public void close() {
        cudart.cuCtxSetCurrent(context);
        cudart.cuModuleUnload(module);
        cudart.cuDevicePrimaryCtxRelease(ordinal);
    }

    /** Throws an unchecked error naming the failed call; used once the engine is running. */
    static void check(int rc, String call) {
        if (rc != CUDA_SUCCESS) throw new IllegalStateException("cuda engine: " + call + " failed: " + errorName(rc));
    }

    static String errorName(int rc) {
        try (PointerPointer<BytePointer> out = new PointerPointer<>(1)) {
            if (cudart.cuGetErrorName(rc, out) != CUDA_SUCCESS || out.get(0) == null) return "CUDA error " + rc;
            return new BytePointer(out.get(0)).getString();
        }
    }

    private static void require(int rc, String call) throws CudaUnavailableException {
        if (rc == CUDA_SUCCESS) return;
        String name = errorName(rc);
        String hint = switch (name) {
            case "CUDA_ERROR_NO_DEVICE" -> ": no CUDA device is visible (CUDA_VISIBLE_DEVICES?)";
            case "CUDA_ERROR_INSUFFICIENT_DRIVER" -> ": the NVIDIA driver is older than CUDA 13 needs";
            case "CUDA_ERROR_STUB_LIBRARY" -> ": libcuda.so.1 is CUDA's stub library, not an NVIDIA driver";
            default -> "";
        };
        throw new CudaUnavailableException(call + " failed: " + name + hint);
    }

    private static int attribute(int attribute, int device) throws CudaUnavailableException {
        int[] value = new int[1];
        require(cudart.cuDeviceGetAttribute(value, attribute, device), "cuDeviceGetAttribute");
        return value[0];
    }

    /**
     * Loads JavaCPP's JNI library for the driver and runtime API; the dynamic linker then needs libcuda.so.1 (the
     * driver) and libcudart.so.13. Their absence is the common case on a machine without a GPU, so it gets a reason,
     * not a trace.
     */
    static synchronized void loadBindings() throws CudaUnavailableException {
        // Once per JVM: after a failed static initialiser the JVM only says "Could not initialize class".
        if (bindingProblem == null) {
            try {
                Loader.load(cudart.class);
                bindingProblem = "";
            } catch (Throwable t) {
                bindingProblem = bindingFailure(t);
            }
        }
        if (!bindingProblem.isEmpty()) throw new CudaUnavailableException(bindingProblem);
    }

    /** The one-line reason for a failure to load the bindings. */
    static String bindingFailure(Throwable t) {
        StringBuilder messages = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) messages.append(c.getMessage()).append('\n');
        Matcher m = MISSING_LIBRARY.matcher(messages);
        if (m.find()) {
            String lib = m.group(1);
            if (lib.startsWith("libcuda.so")) return lib + " not found: no NVIDIA driver on this machine";
            if (lib.startsWith("libcudart.so"))
                return lib + " not found: put CUDA 13's runtime on LD_LIBRARY_PATH (e.g. PyTorch's site-packages/nvidia/cu13/lib)";
            return lib + " not found (needed by JavaCPP's CUDA bindings)";
        }
        String first = messages.toString().lines().filter(l -> !l.isBlank() && !l.equals("null")).findFirst().orElse(t.getClass().getSimpleName());
        return "cannot load JavaCPP's CUDA bindings: " + first;
    }

    private static byte[] kernelImage() throws CudaUnavailableException {
        try (InputStream in = CudaDevice.class.getResourceAsStream(KERNELS)) {
            if (in == null) throw new CudaUnavailableException("the engine jar lacks its kernels (" + KERNELS + ")");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new CudaUnavailableException("cannot read the engine's kernels: " + e.getMessage());
        }
    }

    private static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) n++;
        return new String(bytes, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }
}
