package ckpt.convert.index;

/** The kinds of checkpoint ckpt reads, with the names used in JSON output. */
public enum CheckpointFormat {
    MEGATRON_TORCH_DIST("megatron_torch_dist", "Megatron torch_dist"),
    MEGATRON_LEGACY_TORCH("megatron_torch", "Megatron legacy torch (mp_rank_*)"),
    DCP("pytorch_dcp", "PyTorch Distributed Checkpoint"),
    TORCH_SAVE("torch_save", "torch.save file"),
    SAFETENSORS("safetensors", "safetensors"),
    DEEPSPEED("deepspeed_zero", "DeepSpeed");

    private final String jsonName;
    private final String title;

    CheckpointFormat(String jsonName, String title) {
        this.jsonName = jsonName;
        this.title = title;
    }

    public String jsonName() {
        return jsonName;
    }

    public String title() {
        return title;
    }
}
