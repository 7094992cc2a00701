package ckpt.convert.index;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.format.FormatException;
import ckpt.format.megatron.legacy.PipelineSplit;
import ckpt.format.megatron.legacy.RankId;
import ckpt.format.tensor.DType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A synthetic MoE model sharded TP=4 × PP=2 (VPP=2) × EP=2 the way Megatron shards it — written here from the
 * documented rules (FORMATS.md §4.5–4.6, MAPPING.md §1.4–1.5) by slicing known global tensors — and merged back
 * by {@link LegacyMerge}: every global tensor must come back element for element, and every replica must equal the
 * part of the tensor it copies.
 */
class LegacyMergeTest {
    static final int TP = 4, PP = 2, VPP = 2, EP = 2;
    static final long L = 8, H = 8, V = 32, E = 4, FE = 8, FS = 16, QKV_ROWS = 32, PROJ_COLS = 16;
    /**
     * First global layer of (stage, chunk) for 8 layers, PP=2, VPP=2, from the comment in Megatron's
     * get_num_layers_to_build: "Stage 0: [0, 1] [4, 5]; Stage 1: [2, 3] [6, 7]".
     */
    static final long[][] FIRST_LAYER = {{0, 4}, {2, 6}};

    final Arena arena = Arena.ofConfined();
    final Map<String, Dense> global = new LinkedHashMap<>();
    int expectedReplicaParts;

    @AfterEach
    void close() {
        arena.close();
    }

    LegacyMergeTest() {
        float base = 0;
        for (Object[] t : new Object[][]{
                {"embedding.word_embeddings.weight", new long[]{V, H}},
                {"output_layer.weight", new long[]{V, H}},
                {"decoder.final_layernorm.weight", new long[]{H}},
                {"decoder.layers.self_attention.linear_qkv.weight", new long[]{L, QKV_ROWS, H}},
                {"decoder.layers.self_attention.linear_proj.weight", new long[]{L, H, PROJ_COLS}},
                {"decoder.layers.self_attention.linear_qkv.layer_norm_weight", new long[]{L, H}},
                {"decoder.layers.mlp.linear_fc1.layer_norm_weight", new long[]{L, H}},
                {"decoder.layers.mlp.router.weight", new long[]{L, E, H}},
                {"decoder.layers.mlp.shared_experts.linear_fc1.weight", new long[]{L, 2 * FS, H}},
                {"decoder.layers.mlp.shared_experts.linear_fc2.weight", new long[]{L, H, FS}},
                {"decoder.layers.mlp.experts.experts.linear_fc1.weight", new long[]{L, E, 2 * FE, H}},
                {"decoder.layers.mlp.experts.experts.linear_fc2.weight", new long[]{L, E, H, FE}}}) {
            Dense d = Dense.iota(base, (long[]) t[1]);
            global.put((String) t[0], d);
            base += d.data().length;
        }
    }

    static LegacyMerge.Model model(boolean tied) {
        return new LegacyMerge.Model(L, E, true, tied, true, true, TP, EP,
                new PipelineSplit(L, PP, VPP, null, null, false, false), false);
    }

    /** Megatron's local GLU shard: the rank's gate rows, then its up rows. */
    static Dense gluShard(Dense fc1, int t) {
        long f = fc1.shape()[0] / 2, per = f / TP;
        return Dense.cat(0, fc1.slice(0, t * per, (t + 1) * per), fc1.slice(0, f + t * per, f + (t + 1) * per));
    }

    static Dense rows(Dense d, int t) {
        long per = d.shape()[0] / TP;
        return d.slice(0, t * per, (t + 1) * per);
    }

    static Dense cols(Dense d, int t) {
        long per = d.shape()[1] / TP;
        return d.slice(1, t * per, (t + 1) * per);
    }

    /** Every rank's local state dict, as legacy files hold it (local layer and expert numbers, local-spec names). */
    List<LegacyMerge.Shard> shards(boolean tied) {
        List<LegacyMerge.Shard> out = new ArrayList<>();
        for (int p = 0; p < PP; p++)
            for (int e = 0; e < EP; e++)
                for (int t = 0; t < TP; t++) {
                    RankId id = new RankId(t, p, e);
                    String name = id.dirName(true, true);
                    for (int v = 0; v < VPP; v++) {
                        boolean denseCopy = e != 0; // dense weights repeat on every expert rank
                        if (p == 0 && v == 0)
                            add(out, id, name, v, "embedding.word_embeddings.weight", rows(global.get("embedding.word_embeddings.weight"), t), denseCopy, 1);
                        if (p == PP - 1 && v == VPP - 1) {
                            String src = tied ? "embedding.word_embeddings.weight" : "output_layer.weight";
                            add(out, id, name, v, "output_layer.weight", rows(global.get(src), t), denseCopy || tied, 1);
                            add(out, id, name, v, "decoder.final_layernorm.weight", global.get("decoder.final_layernorm.weight"), denseCopy || t != 0, 1);
                        }
                        for (int i = 0; i < 2; i++) {
                            long g = FIRST_LAYER[p][v] + i;
                            String pre = "decoder.layers." + i + ".";
                            add(out, id, name, v, pre + "self_attention.linear_qkv.weight", rows(layer("self_attention.linear_qkv.weight", g), t), denseCopy, 1);
                            add(out, id, name, v, pre + "self_attention.linear_proj.weight", cols(layer("self_attention.linear_proj.weight", g), t), denseCopy, 1);
                            add(out, id, name, v, pre + "input_layernorm.weight", layer("self_attention.linear_qkv.layer_norm_weight", g), denseCopy || t != 0, 1);
                            add(out, id, name, v, pre + "pre_mlp_layernorm.weight", layer("mlp.linear_fc1.layer_norm_weight", g), denseCopy || t != 0, 1);
                            add(out, id, name, v, pre + "mlp.router.weight", layer("mlp.router.weight", g), denseCopy || t != 0, 1);
                            add(out, id, name, v, pre + "mlp.shared_experts.linear_fc1.weight", gluShard(layer("mlp.shared_experts.linear_fc1.weight", g), t), denseCopy, 2);
                            add(out, id, name, v, pre + "mlp.shared_experts.linear_fc2.weight", cols(layer("mlp.shared_experts.linear_fc2.weight", g), t), denseCopy, 1);
                            for (int j = 0; j < E / EP; j++) {
                                long x = e * (E / EP) + j;
                                String ex = pre + "mlp.experts.local_experts." + j + ".";
                                add(out, id, name, v, ex + "linear_fc1.weight", gluShard(layer("mlp.experts.experts.linear_fc1.weight", g).at(x), t), false, 2);
                                add(out, id, name, v, ex + "linear_fc2.weight", cols(layer("mlp.experts.experts.linear_fc2.weight", g).at(x), t), false, 1);
                            }
                        }
                    }
                }
        return out;
    }

    private Dense layer(String name, long g) {
        return global.get("decoder.layers." + name).at(g);
    }

    private void add(List<LegacyMerge.Shard> out, RankId id, String rank, int chunk, String key, Dense d, boolean copy, int parts) {
        if (copy) expectedReplicaParts += parts;
        out.add(new LegacyMerge.Shard(id, rank, chunk, key, DType.FLOAT32, d.shape(), n -> d.source(arena, rank, n)));
    }

    private float[] assembled(GlobalTensor t, ckpt.format.tensor.Box box) {
        MemorySegment dst = arena.allocate(box.numel() * 4);
        TensorAssembler.assemble(t, box, dst);
        return dst.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN));
    }

    @Test
    void everyGlobalTensorComesBack() {
        LegacyMerge.Result r = LegacyMerge.merge(Path.of("iter"), model(false), shards(false));
        assertThat(r.layerOffsets()).isDeepEqualTo(FIRST_LAYER);
        Map<String, GlobalTensor> byKey = new LinkedHashMap<>();
        for (GlobalTensor t : r.tensors()) byKey.put(t.key(), t);
        assertThat(byKey.keySet()).containsExactlyInAnyOrderElementsOf(global.keySet());
        for (Map.Entry<String, Dense> e : global.entrySet()) {
            GlobalTensor t = byKey.get(e.getKey());
            assertThat(t.shape()).as(e.getKey()).isEqualTo(e.getValue().shape());
            assertThat(assembled(t, ckpt.format.tensor.Box.whole(t.shape()))).as(e.getKey()).isEqualTo(e.getValue().data());
        }
        // fc1 halves: two pieces per rank and layer; QKV: one per rank and layer.
        assertThat(byKey.get("decoder.layers.mlp.shared_experts.linear_fc1.weight").pieces()).hasSize((int) (2 * TP * L));
        assertThat(byKey.get("decoder.layers.self_attention.linear_qkv.weight").pieces()).hasSize((int) (TP * L));
        assertThat(byKey.get("decoder.layers.mlp.experts.experts.linear_fc1.weight").pieces()).hasSize((int) (2 * TP * L * E));
        assertReplicas(r, byKey);
    }

    private void assertReplicas(LegacyMerge.Result r, Map<String, GlobalTensor> byKey) {
        assertThat(r.replicas()).hasSize(expectedReplicaParts);
        for (LegacyReplica rep : r.replicas()) {
            GlobalTensor t = byKey.get(rep.key());
            GlobalTensor alone = new GlobalTensor(t.key(), t.dtype(), t.shape(), t.category(), List.of(rep.piece()));
            assertThat(assembled(alone, rep.piece().box())).as(rep.toString()).isEqualTo(assembled(t, rep.piece().box()));
        }
    }

    @Test
    void tiedOutputLayerIsAReplicaOfTheEmbedding() {
        LegacyMerge.Result r = LegacyMerge.merge(Path.of("iter"), model(true), shards(true));
        Map<String, GlobalTensor> byKey = new LinkedHashMap<>();
        for (GlobalTensor t : r.tensors()) byKey.put(t.key(), t);
        assertThat(byKey).doesNotContainKey("output_layer.weight");
        assertThat(r.replicas()).filteredOn(x -> x.rank().startsWith("mp_rank_00_001_000"))
                .extracting(LegacyReplica::key).contains("embedding.word_embeddings.weight");
        assertReplicas(r, byKey);
    }

    @Test
    void unevenLayoutFromFilesWhenACustomLayoutIsUsed() {
        // With a layout, counts come from the files: here stage 0 holds 1+3 layers, stage 1 holds 3+1.
        long[][] counts = {{1, 3}, {3, 1}};
        List<LegacyMerge.Shard> shards = new ArrayList<>();
        for (int p = 0; p < PP; p++)
            for (int v = 0; v < VPP; v++)
                for (int i = 0; i < counts[p][v]; i++) {
                    Dense d = Dense.iota(0, H);
                    RankId id = new RankId(0, p, 0);
                    shards.add(new LegacyMerge.Shard(id, id.dirName(true, false), v, "decoder.layers." + i + ".input_layernorm.weight",
                            DType.FLOAT32, d.shape(), n -> d.source(arena, "x", n)));
                }
        LegacyMerge.Model m = new LegacyMerge.Model(L, 0, true, false, true, true, 1, 1,
                new PipelineSplit(L, PP, VPP, null, null, false, false), true);
        assertThat(LegacyMerge.merge(Path.of("iter"), m, shards).layerOffsets()).isDeepEqualTo(new long[][]{{0, 4}, {1, 7}});
        // Without the layout flag the same files contradict the even split the args imply.
        LegacyMerge.Model even = new LegacyMerge.Model(L, 0, true, false, true, true, 1, 1, m.split(), false);
        assertThatThrownBy(() -> LegacyMerge.merge(Path.of("iter"), even, shards)).isInstanceOf(FormatException.class)
                .hasMessageContaining("chunk model0 holds 1 decoder layers where the args (num_layers 8, PP 2, VPP 2) imply 2");
    }

    @Test
    void perLayerKeysForNonHomogeneousModels() {
        LegacyMerge.Model m = new LegacyMerge.Model(L, E, true, false, false, true, TP, EP, model(false).split(), false);
        LegacyMerge.Result r = LegacyMerge.merge(Path.of("iter"), m, shards(false));
        Map<String, GlobalTensor> byKey = new LinkedHashMap<>();
        for (GlobalTensor t : r.tensors()) byKey.put(t.key(), t);
        GlobalTensor qkv5 = byKey.get("decoder.layers.5.self_attention.linear_qkv.weight");
        assertThat(qkv5.shape()).containsExactly(QKV_ROWS, H);
        assertThat(assembled(qkv5, ckpt.format.tensor.Box.whole(qkv5.shape())))
                .isEqualTo(global.get("decoder.layers.self_attention.linear_qkv.weight").at(5).data());
        GlobalTensor ex = byKey.get("decoder.layers.6.mlp.experts.experts.linear_fc1.weight");
        assertThat(assembled(ex, ckpt.format.tensor.Box.whole(ex.shape())))
                .isEqualTo(global.get("decoder.layers.mlp.experts.experts.linear_fc1.weight").at(6).data());
    }

    @Test
    void aShardOfTheWrongShapeIsNamedWithBothRanks() {
        List<LegacyMerge.Shard> shards = new ArrayList<>(shards(false));
        for (int i = 0; i < shards.size(); i++) {
            LegacyMerge.Shard s = shards.get(i);
            if (s.rank().equals(new RankId(2, 1, 0)) && s.chunk() == 1 && s.key().equals("decoder.layers.0.self_attention.linear_qkv.weight")) {
                Dense d = Dense.iota(0, 9, H);
                shards.set(i, new LegacyMerge.Shard(s.rank(), s.rankName(), 1, s.key(), DType.FLOAT32, d.shape(), n -> d.source(arena, "x", n)));
            }
        }
        assertThatThrownBy(() -> LegacyMerge.merge(Path.of("iter"), model(false), shards)).isInstanceOf(FormatException.class)
                .hasMessageContaining("decoder.layers.self_attention.linear_qkv.weight")
                .hasMessageContaining("mp_rank_00_000_000:decoder.layers.0.self_attention.linear_qkv.weight implies float32[8, 32, 8]")
                .hasMessageContaining("mp_rank_02_001_000:decoder.layers.0.self_attention.linear_qkv.weight implies float32[8, 36, 8]");
    }

    @Test
    void anOddGluShardAndAnUnknownSplitAreRefusedWithKeyAndRank() {
        Dense odd = Dense.iota(0, 5, H);
        RankId r = new RankId(1, 0, 0);
        List<LegacyMerge.Shard> one = List.of(new LegacyMerge.Shard(r, "mp_rank_01", 0, "decoder.layers.0.mlp.linear_fc1.weight",
                DType.FLOAT32, odd.shape(), n -> odd.source(arena, "x", n)));
        LegacyMerge.Model m = new LegacyMerge.Model(1, 0, true, false, true, false, 2, 1,
                new PipelineSplit(1, 1, null, null, null, false, false), false);
        assertThatThrownBy(() -> LegacyMerge.merge(Path.of("iter"), m, one)).isInstanceOf(FormatException.class)
                .hasMessageContaining("key decoder.layers.0.mlp.linear_fc1.weight of mp_rank_01")
                .hasMessageContaining("even number of rows");
        List<LegacyMerge.Shard> unknown = List.of(new LegacyMerge.Shard(r, "mp_rank_01", 0, "decoder.layers.0.self_attention.mystery.weight",
                DType.FLOAT32, odd.shape(), n -> odd.source(arena, "x", n)));
        assertThatThrownBy(() -> LegacyMerge.merge(Path.of("iter"), m, unknown)).isInstanceOf(FormatException.class)
                .hasMessageContaining("key decoder.layers.0.self_attention.mystery.weight of mp_rank_01")
                .hasMessageContaining("no tensor-parallel merge rule");
    }

    @Test
    void groupedExpertNamesAndLocalSpecNorms() {
        assertThat(LegacyKeys.parse("decoder.layers.3.mlp.experts.linear_fc2.weight7", true))
                .isEqualTo(new LegacyKeys.Parsed(3, 7, "mlp.experts.experts.linear_fc2.weight"));
        assertThat(LegacyKeys.parse("decoder.layers.0.mlp.experts.local_experts.1.linear_fc1.weight", true))
                .isEqualTo(new LegacyKeys.Parsed(0, 1, "mlp.experts.experts.linear_fc1.weight"));
        assertThat(LegacyKeys.parse("decoder.layers.2.input_layernorm.bias", true).name())
                .isEqualTo("self_attention.linear_qkv.layer_norm_bias");
        assertThat(LegacyKeys.parse("decoder.layers.2.pre_mlp_layernorm.weight", false).name())
                .isEqualTo("pre_mlp_layernorm.weight");
        assertThat(LegacyKeys.parse("embedding.word_embeddings.weight", true)).isEqualTo(new LegacyKeys.Parsed(-1, -1, "embedding.word_embeddings.weight"));
        assertThat(LegacyKeys.split("mlp.linear_fc2.bias", true)).isEqualTo(TpSplit.REPLICATED);
        assertThat(LegacyKeys.split("mlp.linear_fc1.weight", false)).isEqualTo(TpSplit.COLUMN);
        assertThat(LegacyKeys.split("self_attention.q_layernorm.weight", true)).isEqualTo(TpSplit.REPLICATED);
    }
}
