package ckpt.convert.exec;

import java.util.Locale;

/** {@code --format}: what {@code ckpt convert} writes. */
public enum OutputFormat {
    /** {@code DIR/model.pt}: one torch.save file, {@code torch.load(weights_only=True)}-loadable. */
    PYTORCH("pytorch"),
    /** {@code DIR/}: safetensors shards + index + config.json, {@code from_pretrained}-loadable. */
    HUGGINGFACE("huggingface"),
    /** {@code DIR/}: a Megatron-core {@code torch_dist} save dir of an HF model, for {@code --load … --finetune}. */
    MEGATRON("megatron");

    private final String id;

    OutputFormat(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static OutputFormat parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "pytorch", "torch", "pt" -> PYTORCH;
            case "huggingface", "hf" -> HUGGINGFACE;
            case "megatron", "mcore", "torch_dist" -> MEGATRON;
            default -> throw new IllegalArgumentException("unknown format '" + s + "' (expected pytorch, huggingface or megatron)");
        };
    }
}
