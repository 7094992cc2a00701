package ckpt.format.torchsave;

import ckpt.format.pickle.PyGlobal;

import java.util.Set;

/**
 * Whether {@code torch.load} would accept a global a pickle references — the question "is this file safe to load?".
 * Three answers:
 * <ul>
 *   <li>{@link Verdict#WEIGHTS_ONLY}: in the set {@code torch.load(weights_only=True)} accepts by default (torch 2.x
 *       {@code torch/_weights_only_unpickler.py}, {@code _get_allowed_globals}): containers, dtypes, devices,
 *       tensor/storage classes and the {@code torch._utils._rebuild_*} functions;</li>
 *   <li>{@link Verdict#LOADER_ALLOWLISTED}: not in that default set, but part of what the checkpoint's own loader
 *       reads by design — PyTorch DCP's metadata classes ({@code torch.distributed.checkpoint.*}; DCP reads
 *       {@code .metadata} with plain {@code pickle.load}), and the classes Megatron-core registers with
 *       {@code torch.serialization.add_safe_globals} before loading ({@code megatron/core/safe_globals.py}:
 *       {@code argparse.Namespace}, numpy arrays, its enums, …; and any other CamelCase class of {@code megatron.core},
 *       as newer enums such as {@code InferenceCudaGraphScope} appear in args before that list names them). Real
 *       training checkpoints hold these, and DeepSpeed's files its own classes (loss scalers, config enums); they are
 *       reported as a note, never as unsafe;</li>
 *   <li>{@link Verdict#UNSAFE}: anything else ({@code os.system}, {@code builtins.eval}, {@code subprocess.Popen},
 *       an arbitrary class): {@code torch.load(weights_only=True)} refuses the file, and loading it with
 *       {@code weights_only=False} would import and call it.</li>
 * </ul>
 */
public final class TorchLoadPolicy {
    private TorchLoadPolicy() {
    }

    public enum Verdict { WEIGHTS_ONLY, LOADER_ALLOWLISTED, UNSAFE }

    private static final Set<String> WEIGHTS_ONLY = Set.of(
            "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter",
            "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device", "_codecs.encode",
            "builtins.bytearray", "builtins.set", "builtins.complex",
            "torch.per_tensor_affine", "torch.per_tensor_symmetric", "torch.per_channel_affine",
            "torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams",
            "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
            "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
            "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
            "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_device_tensor_from_numpy",
            "torch._utils._rebuild_device_tensor_from_cpu_tensor", "torch._tensor._rebuild_from_type_v2",
            "torch.storage.UntypedStorage", "torch.storage.TypedStorage");

    /** {@code str(dtype)} of every torch dtype (torch 2.x), the names weights_only accepts for dtypes. */
    private static final Set<String> DTYPES = Set.of(
            "float32", "float64", "float16", "bfloat16", "complex32", "complex64", "complex128", "uint8", "int8",
            "int16", "int32", "int64", "bool", "qint8", "quint8", "qint32", "quint4x2", "quint2x4", "float8_e4m3fn",
            "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "uint16",
            "uint32", "uint64", "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7", "int1", "int2", "int3",
            "int4", "int5", "int6", "int7", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16");

    /** Megatron-core's SAFE_GLOBALS (megatron/core/safe_globals.py), registered before every checkpoint load. */
    private static final Set<String> MEGATRON = Set.of(
            "types.SimpleNamespace", "pathlib.PosixPath", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
            "numpy.ndarray", "numpy.dtype", "numpy.dtypes.UInt32DType", "argparse.Namespace",
            "megatron.core.transformer.enums.AttnBackend", "megatron.core.transformer.enums.CudaGraphScope",
            "megatron.core.enums.ModelType", "megatron.core.optimizer.OptimizerConfig",
            "megatron.core.optimizer.optimizer_config.OptimizerConfig",
            "megatron.core.rerun_state_machine.RerunDiagnostic", "megatron.core.rerun_state_machine.RerunMode",
            "megatron.core.rerun_state_machine.RerunState", "io.BytesIO", "_io.BytesIO", "signal.Signals",
            "torch._C.Generator", "pathlib._local.PosixPath");

    public static Verdict judge(PyGlobal g) {
        String full = g.module() + "." + g.name();
        if (WEIGHTS_ONLY.contains(full)) return Verdict.WEIGHTS_ONLY;
        if (g.module().equals("torch")) {
            if (DTYPES.contains(g.name())) return Verdict.WEIGHTS_ONLY;
            // legacy tensor and storage classes (torch.FloatTensor, torch.BFloat16Storage, …)
            if (g.name().matches("[A-Z][A-Za-z0-9]*(Tensor|Storage)")) return Verdict.WEIGHTS_ONLY;
        }
        if (g.module().equals("torch.cuda") && g.name().matches("[A-Z][A-Za-z0-9]*(Tensor|Storage)")) return Verdict.WEIGHTS_ONLY;
        if (g.module().startsWith("torch.distributed.checkpoint.") && g.name().matches("[A-Za-z_][A-Za-z0-9_]*"))
            return Verdict.LOADER_ALLOWLISTED;
        if (MEGATRON.contains(full)) return Verdict.LOADER_ALLOWLISTED;
        // Megatron's own classes (enums and configs such as InferenceCudaGraphScope, newer than the list above):
        // its loader trusts its package. Functions of it are not classes a checkpoint stores, so they stay unsafe.
        if (g.module().startsWith("megatron.core.") && g.name().matches("[A-Z][A-Za-z0-9]*")) return Verdict.LOADER_ALLOWLISTED;
        // DeepSpeed loads its own checkpoints with weights_only=False and stores its config enums and loss scalers
        // (ZeroStageEnum, DynamicLossScaler) in them: classes of its package, same rule.
        if (g.module().startsWith("deepspeed.") && g.name().matches("[A-Z][A-Za-z0-9]*")) return Verdict.LOADER_ALLOWLISTED;
        if (full.equals("deepspeed.utils.tensor_fragment.fragment_address")) return Verdict.LOADER_ALLOWLISTED; // a dataclass
        return Verdict.UNSAFE;
    }
}
