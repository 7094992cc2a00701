package ckpt.format.megatron.legacy;

import ckpt.format.megatron.MegatronArgs;
import ckpt.format.pickle.PyDict;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Layer placement against assignments written out by hand (the two interleaved examples are the ones in the
 * comment of Megatron's {@code get_num_layers_to_build}), plus the invariant that the chunks, taken in chunk-major
 * order, tile layers 0 … L-1.
 */
class PipelineSplitTest {
    /** Global numbers of the layers of chunk {@code vp} on stage {@code pp}, from offset() and layers(). */
    private static List<Long> layers(PipelineSplit s, int pp, int vp) {
        List<Long> l = new ArrayList<>();
        for (long i = 0; i < s.layers(pp, vp); i++) l.add(s.offset(pp, vp) + i);
        return l;
    }

    @Test
    void megatronsInterleavedExamples() {
        // "With 8 layers, 2 stages, and 4 model chunks: Stage 0: [0] [2] [4] [6]; Stage 1: [1] [3] [5] [7]"
        PipelineSplit four = new PipelineSplit(8, 2, 4, null, null, false, false);
        assertThat(List.of(layers(four, 0, 0), layers(four, 0, 1), layers(four, 0, 2), layers(four, 0, 3)))
                .isEqualTo(List.of(List.of(0L), List.of(2L), List.of(4L), List.of(6L)));
        assertThat(List.of(layers(four, 1, 0), layers(four, 1, 1), layers(four, 1, 2), layers(four, 1, 3)))
                .isEqualTo(List.of(List.of(1L), List.of(3L), List.of(5L), List.of(7L)));
        // "With 8 layers, 2 stages, and 2 virtual stages: Stage 0: [0, 1] [4, 5]; Stage 1: [2, 3] [6, 7]"
        PipelineSplit two = new PipelineSplit(8, 2, 2, null, null, false, false);
        assertThat(layers(two, 0, 0)).containsExactly(0L, 1L);
        assertThat(layers(two, 0, 1)).containsExactly(4L, 5L);
        assertThat(layers(two, 1, 0)).containsExactly(2L, 3L);
        assertThat(layers(two, 1, 1)).containsExactly(6L, 7L);
    }

    @Test
    void plainPipelineIsContiguous() {
        PipelineSplit s = new PipelineSplit(12, 4, null, null, null, false, false);
        assertThat(layers(s, 0, 0)).containsExactly(0L, 1L, 2L);
        assertThat(layers(s, 3, 0)).containsExactly(9L, 10L, 11L);
        PipelineSplit one = new PipelineSplit(5, 1, null, null, null, false, false);
        assertThat(layers(one, 0, 0)).containsExactly(0L, 1L, 2L, 3L, 4L);
    }

    @Test
    void unevenFirstAndLastStages() {
        // 10 layers, PP=4, first stage 1, last stage 3: the middle two stages share 6 → 3 each.
        PipelineSplit s = new PipelineSplit(10, 4, null, 1L, 3L, false, false);
        assertThat(layers(s, 0, 0)).containsExactly(0L);
        assertThat(layers(s, 1, 0)).containsExactly(1L, 2L, 3L);
        assertThat(layers(s, 2, 0)).containsExactly(4L, 5L, 6L);
        assertThat(layers(s, 3, 0)).containsExactly(7L, 8L, 9L);
        // Only the last stage set: 7 layers, PP=3, last 1 → first two stages 3 each.
        PipelineSplit last = new PipelineSplit(7, 3, null, null, 1L, false, false);
        assertThat(layers(last, 1, 0)).containsExactly(3L, 4L, 5L);
        assertThat(layers(last, 2, 0)).containsExactly(6L);
    }

    @Test
    void unevenWithInterleaving() {
        // 12 layers, PP=3, VPP=2, first 2, last 2: middle stage holds 8 → 4 per chunk; first/last 1 per chunk.
        PipelineSplit s = new PipelineSplit(12, 3, 2, 2L, 2L, false, false);
        assertThat(layers(s, 0, 0)).containsExactly(0L);
        assertThat(layers(s, 1, 0)).containsExactly(1L, 2L, 3L, 4L);
        assertThat(layers(s, 2, 0)).containsExactly(5L);
        assertThat(layers(s, 0, 1)).containsExactly(6L);
        assertThat(layers(s, 1, 1)).containsExactly(7L, 8L, 9L, 10L);
        assertThat(layers(s, 2, 1)).containsExactly(11L);
    }

    @Test
    void embeddingAndLossCountedAsLayers() {
        // 7 layers + embedding = 8 slots over 2 stages: stage 0 gives one slot to the embedding.
        PipelineSplit emb = new PipelineSplit(7, 2, null, null, null, true, false);
        assertThat(layers(emb, 0, 0)).containsExactly(0L, 1L, 2L);
        assertThat(layers(emb, 1, 0)).containsExactly(3L, 4L, 5L, 6L);
        // 6 layers + embedding + loss = 8 slots: 3 real layers on each stage.
        PipelineSplit both = new PipelineSplit(6, 2, null, null, null, true, true);
        assertThat(layers(both, 0, 0)).containsExactly(0L, 1L, 2L);
        assertThat(layers(both, 1, 0)).containsExactly(3L, 4L, 5L);
        // Interleaved: 7 + 1 slots, PP=2, VPP=2 → 2 slots per chunk; chunk 0 of stage 0 holds one real layer.
        PipelineSplit vpp = new PipelineSplit(7, 2, 2, null, null, true, false);
        assertThat(layers(vpp, 0, 0)).containsExactly(0L);
        assertThat(layers(vpp, 1, 0)).containsExactly(1L, 2L);
        assertThat(layers(vpp, 0, 1)).containsExactly(3L, 4L);
        assertThat(layers(vpp, 1, 1)).containsExactly(5L, 6L);
    }

    @Test
    void chunksTileAllLayersInChunkMajorOrder() {
        List<PipelineSplit> splits = List.of(
                new PipelineSplit(32, 4, 2, null, null, false, false),
                new PipelineSplit(30, 4, null, 6L, 8L, false, false),
                new PipelineSplit(24, 4, 2, 4L, 4L, false, false),
                new PipelineSplit(15, 4, null, null, null, true, false),
                new PipelineSplit(30, 4, 2, null, null, true, true),
                new PipelineSplit(16, 4, 4, null, null, false, false));
        for (PipelineSplit s : splits) {
            long next = 0;
            for (int v = 0; v < s.chunksPerStage(); v++) {
                for (int p = 0; p < s.pipelineSize(); p++) {
                    assertThat(s.offset(p, v)).as(s + " stage " + p + " chunk " + v).isEqualTo(next);
                    next += s.layers(p, v);
                }
            }
            assertThat(next).as(s.toString()).isEqualTo(s.numLayers());
        }
    }

    @Test
    void readFromArgs() {
        PyDict d = new PyDict();
        d.put("num_layers", 16L);
        d.put("pipeline_model_parallel_size", 4L);
        d.put("virtual_pipeline_model_parallel_size", 2L);
        d.put("decoder_first_pipeline_num_layers", null);
        d.put("account_for_embedding_in_pipeline_split", false);
        PipelineSplit s = PipelineSplit.from(new MegatronArgs(d));
        assertThat(s).isEqualTo(new PipelineSplit(16, 4, 2, null, null, false, false));
        assertThat(s.chunksPerStage()).isEqualTo(2);
        d.put("virtual_pipeline_model_parallel_size", null);
        assertThat(PipelineSplit.from(new MegatronArgs(d)).chunksPerStage()).isEqualTo(1);
    }
}
