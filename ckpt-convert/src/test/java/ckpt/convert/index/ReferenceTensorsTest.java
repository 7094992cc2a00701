package ckpt.convert.index;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every DCP / Megatron fixture: the index has exactly the reference's tensor keys, dtypes and global shapes, the
 * pieces tile each tensor, and every assembled global tensor has the sha256 PyTorch's dcp_to_torch_save gave.
 */
class ReferenceTensorsTest {
    @ParameterizedTest
    @CsvSource({
            "megatron-llama-tp2/checkpoint/iter_0000004, megatron-llama-tp2/reference/iter_0000004/tensors.json",
            "megatron-llama-tp2/checkpoint/iter_0000002, megatron-llama-tp2/reference/iter_0000002/tensors.json",
            "megatron-llama-tp2-core014/checkpoint/iter_0000004, megatron-llama-tp2-core014/reference/iter_0000004/tensors.json",
            "megatron-qwen3-tp2/checkpoint/iter_0000004, megatron-qwen3-tp2/reference/iter_0000004/tensors.json",
            "dcp-fsdp2/checkpoint, dcp-fsdp2/reference/tensors.json",
            "dcp-variety/checkpoint, dcp-variety/reference/tensors.json",
            "dcp-variety-safetensors/checkpoint, dcp-variety-safetensors/reference/tensors.json",
    })
    void globalTensorsMatchPyTorch(String checkpoint, String reference) {
        JsonNode ref = Fixtures.json(Fixtures.path(reference));
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(checkpoint)); Arena arena = Arena.ofConfined()) {
            Map<String, GlobalTensor> byKey = index.tensorsByKey();
            List<String> refKeys = new ArrayList<>();
            ref.fieldNames().forEachRemaining(refKeys::add);
            assertThat(new TreeSet<>(byKey.keySet())).isEqualTo(new TreeSet<>(refKeys));
            for (String key : refKeys) {
                ReferenceCheck.assertTensorMatches(arena, byKey.get(key), ref.get(key));
            }
        }
    }

    @org.junit.jupiter.api.Test
    void eightBillionMetadataParsesWithoutData() {
        Path iter = Fixtures.path("megatron-llama3-8b-meta/checkpoint");
        try (CheckpointIndex index = Checkpoints.open(iter)) {
            assertThat(index.format()).isEqualTo(CheckpointFormat.MEGATRON_TORCH_DIST);
            assertThat(index.tensors().size() + index.objects().size()).isEqualTo(147);
            assertThat(index.details().get("storage_records")).isEqualTo(950);
            assertThat(index.dataPresent()).isFalse();
            assertThat(index.iteration()).isEqualTo(1L); // from the dir name: the common state is in the absent data files
        }
    }
}
