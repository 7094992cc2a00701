package ckpt.format.megatron.legacy;

import ckpt.format.megatron.MegatronArgs;

/**
 * How Megatron spreads the decoder layers over pipeline stages and virtual-pipeline chunks, so that a legacy
 * checkpoint's stage-local layer numbers can be turned into global ones. Follows
 * {@code transformer_layer.py::get_transformer_layer_offset} and {@code transformer_block.py::get_num_layers_to_build}
 * (Megatron-LM d98e8a64): even split (optionally counting the embedding / loss as a layer), or uneven first / last
 * stages ({@code --decoder-first/last-pipeline-num-layers}); with interleaving (VPP) the chunks are ordered
 * chunk-major: chunk {@code v} of stage {@code p} follows chunk {@code v} of stage {@code p-1}.
 * A custom {@code --pipeline-model-parallel-layout} is not modelled here; callers take the layer counts from the
 * files instead (the layout assigns layers in the same chunk-major order).
 *
 * @param virtualSize   virtual pipeline chunks per stage, null without interleaving
 * @param firstStage    layers of the first stage when uneven, else null
 * @param lastStage     layers of the last stage when uneven, else null
 */
public record PipelineSplit(long numLayers, int pipelineSize, Integer virtualSize, Long firstStage, Long lastStage,
                            boolean embeddingInSplit, boolean lossInSplit) {

    public PipelineSplit {
        if (pipelineSize < 1) throw new IllegalArgumentException("pipeline size " + pipelineSize);
        if (virtualSize != null && virtualSize < 1) throw new IllegalArgumentException("virtual pipeline size " + virtualSize);
    }

    public static PipelineSplit from(MegatronArgs a) {
        Integer vpp = a.getLong("virtual_pipeline_model_parallel_size").map(Long::intValue).orElse(null);
        return new PipelineSplit(a.getLong("num_layers", 0), (int) a.getLong("pipeline_model_parallel_size", 1),
                vpp != null && vpp > 1 ? vpp : null,
                a.getLong("decoder_first_pipeline_num_layers").orElse(null),
                a.getLong("decoder_last_pipeline_num_layers").orElse(null),
                a.getBool("account_for_embedding_in_pipeline_split", false),
                a.getBool("account_for_loss_in_pipeline_split", false));
    }

    /** Model chunks per stage ({@code model0 … model{V-1}} in the file; 1 means a plain {@code model} key). */
    public int chunksPerStage() {
        return virtualSize == null ? 1 : virtualSize;
    }

    private boolean uneven() {
        return firstStage != null || lastStage != null;
    }

    private boolean interleaved() {
        return virtualSize != null && pipelineSize > 1;
    }

    /** Global number of the first layer of chunk {@code vp} on stage {@code pp}. */
    public long offset(int pp, int vp) {
        if (pipelineSize <= 1) return 0;
        if (uneven()) {
            long first = firstStage == null ? 0 : firstStage;
            long last = lastStage == null ? 0 : lastStage;
            int middleStages = pipelineSize - (firstStage != null ? 1 : 0) - (lastStage != null ? 1 : 0);
            long middleLayers = numLayers - first - last;
            long middleRank = firstStage == null ? pp : pp - 1;
            if (virtualSize != null) {
                long firstPerChunk = first / virtualSize;
                long middlePerChunk = middleLayers / virtualSize;
                long lastPerChunk = last / virtualSize;
                long perVirtualStage = firstPerChunk + middlePerChunk + lastPerChunk;
                if (pp == 0) return vp * perVirtualStage;
                long middlePerStageChunk = middleStages > 0 ? middlePerChunk / middleStages : 0;
                return vp * perVirtualStage + firstPerChunk + middleRank * middlePerStageChunk;
            }
            long perStage = middleStages > 0 ? middleLayers / middleStages : 0;
            return pp == 0 ? 0 : middleRank * perStage + first;
        }
        long counted = numLayers + (embeddingInSplit ? 1 : 0) + (lossInSplit ? 1 : 0);
        long perStage = counted / pipelineSize;
        long offset;
        if (virtualSize != null) {
            offset = vp * (counted / virtualSize) + pp * (perStage / virtualSize);
        } else {
            offset = pp * perStage;
        }
        // The embedding occupies the first layer slot of chunk 0 of stage 0; everything after it shifts down.
        if (embeddingInSplit && !(pp == 0 && vp == 0)) offset -= 1;
        return offset;
    }

    /** Layers chunk {@code vp} of stage {@code pp} holds. */
    public long layers(int pp, int vp) {
        long perStage;
        if (uneven()) {
            long rest = numLayers - (firstStage == null ? 0 : firstStage) - (lastStage == null ? 0 : lastStage);
            int stagesLeft = pipelineSize - (firstStage != null ? 1 : 0) - (lastStage != null ? 1 : 0);
            perStage = stagesLeft > 0 ? rest / stagesLeft : 0;
            if (pp == 0 && firstStage != null) perStage = firstStage;
            if (pp == pipelineSize - 1 && lastStage != null) perStage = lastStage;
        } else {
            perStage = (numLayers + (embeddingInSplit ? 1 : 0) + (lossInSplit ? 1 : 0)) / pipelineSize;
        }
        long n = interleaved() ? perStage / virtualSize : perStage;
        int lastChunk = chunksPerStage() - 1;
        if (embeddingInSplit && pp == 0 && vp == 0) n -= 1;
        if (lossInSplit && pp == pipelineSize - 1 && vp == lastChunk) n -= 1;
        return n;
    }
}
