package ckpt.format;

/** What a path given to ckpt is, as {@link Formats#detect} tells from names and first bytes alone. */
public enum DetectedFormat {
    /** Megatron save dir: {@code latest_checkpointed_iteration.txt} and/or {@code iter_*} / {@code release} dirs. */
    MEGATRON_SAVE_DIR,
    /** Megatron {@code torch_dist} iteration dir: {@code metadata.json} (plus DCP {@code .metadata}). */
    MEGATRON_TORCH_DIST_ITERATION,
    /** Megatron legacy {@code --ckpt-format torch} iteration dir: {@code mp_rank_*} subdirs. */
    MEGATRON_LEGACY_ITERATION,
    /** Plain PyTorch Distributed Checkpoint dir: {@code .metadata} without {@code metadata.json}. */
    DCP_DIR,
    /** Hugging Face style dir: {@code model.safetensors.index.json} or {@code *.safetensors} files. */
    HF_SAFETENSORS_DIR,
    /** One {@code .safetensors} file. */
    SAFETENSORS_FILE,
    /** One torch.save file: a zip, a legacy magic-number stream, or one of the old kinds torch.load knows. */
    TORCH_SAVE_FILE,
    /** DeepSpeed save dir ({@code latest} + {@code global_step*}) or one of its {@code global_step*} dirs. */
    DEEPSPEED_DIR,
    UNKNOWN
}
