package ckpt.convert.memory;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * ckpt's activation figures beyond Megatron's function, against values worked out by hand from Korthikanti et al.
 * 2022 Table 2 for the Llama-3-8B run of testdata/megatron-llama3-8b-meta (s 2048, b 1, h 4096, f 14336, V 128256,
 * L 32, 32 heads of 128, 8 groups): the 'full recompute' row stores 2sbh per layer (2sbh/t with sequence
 * parallelism), plus the one recompute unit rematerialized in the backward pass (Megatron's per-layer activation,
 * no SP: sbh(10 + 24/t); SP: sbh(18 + 4f/h)/t), plus Megatron's embedding and output-layer terms.
 */
class FullRecomputeTest {
    static final double S = 2048, B = 1, H = 4096, V = 128256, L = 32;
    static final double SBH = S * B * H; // 8,388,608

    static TrainingArgs llama8b(Map<String, Object> run) {
        Map<String, Object> a = new LinkedHashMap<>(Map.of("num_layers", 32L, "hidden_size", 4096L, "ffn_hidden_size", 14336L,
                "num_attention_heads", 32L, "group_query_attention", true, "num_query_groups", 8L, "kv_channels", 128L,
                "padded_vocab_size", 128256L, "seq_length", 2048L, "normalization", "RMSNorm"));
        a.putAll(Map.of("swiglu", true, "untie_embeddings_and_output_weights", true, "add_bias_linear", false,
                "micro_batch_size", 1L, "global_batch_size", 2L, "data_parallel_size", 2L, "use_distributed_optimizer", true));
        return TrainingArgs.of(a, Map.of(), run);
    }

    /** Megatron's no-SP non-layer terms at t = 1, p = 1: (8sb + sbh + 2(sbV + sbh)) × 1.05. */
    static final double OTHER_NO_SP = (8 * S * B + SBH + 2 * (S * B * V + SBH)) * 1.05;

    @Test
    void fullUniformOneLayerPerUnitAsTheSampleWasTrained() {
        MemoryEstimate m = MemoryEstimator.estimate(llama8b(Map.of("recompute_granularity", "full", "recompute_method", "uniform",
                "recompute_num_layers", 1L)));
        // 32 stored inputs of 2sbh (Table 2: 2sbhL = 536,870,912 B) + one layer of 34sbh + 578,044,723.2.
        assertThat(2 * SBH * L).isEqualTo(536_870_912.0);
        assertThat(34 * SBH).isEqualTo(285_212_672.0);
        assertThat(OTHER_NO_SP).isCloseTo(578_044_723.2, within(1e-3));
        assertThat(m.activationBytes()).isCloseTo(536_870_912.0 + 285_212_672.0 + 578_044_723.2, within(1e-3));
        assertThat(m.megatronModelsActivations()).isFalse();
        // Megatron's own figure for these args would be its no-recompute one (it does not model full recompute).
        assertThat(m.activationBytes()).isLessThan(MegatronFormulas.activationWithoutSp(llama8b(Map.of()), 1L));
        // One extra forward of every layer: F_layer = 2sb·P_layer + 4bs²ad, step = 3(L·F_layer + 2sbhV).
        double pLayer = 2 * H * 32 * 128 + 2 * H * 8 * 128 + 3 * H * 14336;
        double f = 2 * S * B * pLayer + 4 * B * S * S * 32 * 128;
        double fraction = L * f / (3 * (L * f + 2 * S * B * H * V));
        assertThat(m.recomputeFlopsFraction()).isCloseTo(fraction, within(1e-15)).isBetween(0.30, 1.0 / 3);
    }

    @Test
    void fullBlockKeepsTheOtherLayersWhole() {
        MemoryEstimate m = MemoryEstimator.estimate(llama8b(Map.of("recompute_granularity", "full", "recompute_method", "block",
                "recompute_num_layers", 8L)));
        // 8 checkpointed inputs + 24 layers whole + 1 layer rematerialized.
        assertThat(m.activationBytes()).isCloseTo(8 * 2 * SBH + 24 * 34 * SBH + 34 * SBH + OTHER_NO_SP, within(1e-3));
        double pLayer = 2 * H * 32 * 128 + 2 * H * 8 * 128 + 3 * H * 14336;
        double f = 2 * S * B * pLayer + 4 * B * S * S * 32 * 128;
        assertThat(m.recomputeFlopsFraction()).isCloseTo(8 * f / (3 * (L * f + 2 * S * B * H * V)), within(1e-15));
    }

    @Test
    void fullUniformWithSequenceParallelDividesCheckpointsByTp() {
        Map<String, Object> run = new LinkedHashMap<>(Map.of("tensor_model_parallel_size", 4L, "sequence_parallel", true,
                "recompute_granularity", "full", "recompute_method", "uniform", "recompute_num_layers", 2L));
        run.put("data_parallel_size", 1L);
        run.put("global_batch_size", 1L);
        MemoryEstimate m = MemoryEstimator.estimate(llama8b(run));
        // 16 units × 2sbh/4 + 2 layers × sbh(18 + 4·14336/4096)/4 = 8sbh + 16sbh; SP non-layer terms / t.
        double other = (8 * S * B + SBH + SBH * 4 * (1 + V / H)) / 4;
        assertThat(m.activationBytes()).isCloseTo(8 * SBH + 16 * SBH + other, within(1e-3));
    }

    @Test
    void deepSpeedPartitionAndCpuCheckpointing() {
        Map<String, Object> run = new LinkedHashMap<>(Map.of("tensor_model_parallel_size", 4L, "recompute_granularity", "full",
                "deepspeed_partition_activations", true));
        run.put("data_parallel_size", 1L);
        run.put("global_batch_size", 1L);
        MemoryEstimate part = MemoryEstimator.estimate(llama8b(run));
        double layer = SBH * (10 + 24.0 / 4);
        double other = (8 * S * B + SBH + 2 * (S * B * V / 4 + SBH)) * 1.05;
        // partition_activations: each of the 32 checkpointed inputs split over the 4 TP ranks.
        assertThat(part.activationBytes()).isCloseTo(32 * 2 * SBH / 4 + layer + other, within(1e-3));
        run.put("deepspeed_cpu_checkpointing", true);
        MemoryEstimate cpu = MemoryEstimator.estimate(llama8b(run));
        // cpu_checkpointing: the checkpoints live in host memory; the GPU keeps the working layer and the rest.
        assertThat(cpu.activationBytes()).isCloseTo(layer + other, within(1e-3));
        assertThat(cpu.hostBytes()).isCloseTo(32 * 2 * SBH / 4, within(1e-3));
    }

    @Test
    void selectiveWithoutSequenceParallelIsTable2SelectiveRow() {
        Map<String, Object> run = new LinkedHashMap<>(Map.of("tensor_model_parallel_size", 2L, "recompute_granularity", "selective"));
        run.put("data_parallel_size", 1L);
        run.put("global_batch_size", 1L);
        MemoryEstimate m = MemoryEstimator.estimate(llama8b(run));
        double perLayer = SBH * (10 + 24.0 / 2);
        assertThat(m.activationBytes()).isCloseTo((perLayer * L + 8 * S * B + SBH + 2 * (S * B * V / 2 + SBH)) * 1.05, within(1e-3));
        // Recomputes QKᵀ and attention × V of every layer: L·4bs²ad of the step's 3(L·F_layer + 2sbhV).
        double pLayer = 2 * H * 32 * 128 + 2 * H * 8 * 128 + 3 * H * 14336;
        double f = 2 * S * B * pLayer + 4 * B * S * S * 32 * 128;
        assertThat(m.recomputeFlopsFraction()).isCloseTo(L * 4 * B * S * S * 32 * 128 / (3 * (L * f + 2 * S * B * H * V)), within(1e-15));
    }
}
