package ckpt.format;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static ckpt.format.DetectedFormat.*;
import static org.assertj.core.api.Assertions.assertThat;

/** {@link Formats#detect} on every kind of fixture path (what the README of each fixture says it is) and made-up dirs. */
class FormatsTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({
            "megatron-llama-tp2/checkpoint, MEGATRON_SAVE_DIR",
            "megatron-llama-tp2/checkpoint/iter_0000002, MEGATRON_TORCH_DIST_ITERATION",
            "megatron-llama-tp2/checkpoint/iter_0000004, MEGATRON_TORCH_DIST_ITERATION",
            "megatron-llama-tp2-core014/checkpoint, MEGATRON_SAVE_DIR",
            "megatron-llama-tp2-core014/checkpoint/iter_0000004, MEGATRON_TORCH_DIST_ITERATION",
            "megatron-llama-tp2-core014/checkpoint/iter_0000004/common.pt, TORCH_SAVE_FILE",
            "megatron-qwen3-tp2/checkpoint, MEGATRON_SAVE_DIR",
            "megatron-llama3-8b-meta/checkpoint, MEGATRON_SAVE_DIR",
            "megatron-llama3-8b-meta/checkpoint/iter_0000001, MEGATRON_TORCH_DIST_ITERATION",
            "megatron-llama-tp2-legacy-torch/checkpoint, MEGATRON_SAVE_DIR",
            "megatron-llama-tp2-legacy-torch/checkpoint/iter_0000004, MEGATRON_LEGACY_ITERATION",
            "megatron-llama-tp2-legacy-torch/checkpoint/iter_0000004/mp_rank_00/model_optim_rng.pt, TORCH_SAVE_FILE",
            "megatron-llama-tp2-legacy-torch/checkpoint/iter_0000004/mp_rank_01/distrib_optim.pt, TORCH_SAVE_FILE",
            "dcp-fsdp2/checkpoint, DCP_DIR",
            "dcp-fsdp2/checkpoint/__0_0.distcp, UNKNOWN",
            "dcp-fsdp2/checkpoint/.metadata, UNKNOWN",
            "dcp-fsdp2/live-full-state/live_full_state.pt, TORCH_SAVE_FILE",
            "dcp-fsdp2/live-full-state/live_full_state.safetensors, SAFETENSORS_FILE",
            "dcp-fsdp2/live-full-state/param_groups.json, UNKNOWN",
            "dcp-fsdp2/reference/dcp_to_torch_save.pt, TORCH_SAVE_FILE",
            "dcp-variety/checkpoint, DCP_DIR",
            "dcp-variety-safetensors/checkpoint, DCP_DIR",
            "dcp-variety-hf/checkpoint, HF_SAFETENSORS_DIR",
            "dcp-variety-hf/checkpoint/model-00001-of-00001.safetensors, SAFETENSORS_FILE",
            "torch-save/files/legacy_nonzip.pt, TORCH_SAVE_FILE",
            "torch-save/files/zip_dtypes.pt, TORCH_SAVE_FILE",
            "torch-save/files/zip_module_state.pt, TORCH_SAVE_FILE",
            "torch-save/files/zip_nested.pt, TORCH_SAVE_FILE",
            "torch-save/files/zip_single_tensor.pt, TORCH_SAVE_FILE",
            "torch-save/reference/zip_dtypes.pt.safetensors, SAFETENSORS_FILE",
            "torch-save/README.md, UNKNOWN",
            "torch-save, UNKNOWN",
            "does-not-exist, UNKNOWN",
    })
    void fixtures(String path, DetectedFormat expected) {
        assertThat(Formats.detect(Fixtures.root().resolve(path))).isEqualTo(expected);
    }

    @Test
    void emptyDirectory() {
        assertThat(Formats.detect(tmp)).isEqualTo(UNKNOWN);
    }

    @Test
    void deepSpeedSaveDirAndStepDir() throws IOException {
        Files.writeString(tmp.resolve("latest"), "global_step5");
        Path step = Files.createDirectory(tmp.resolve("global_step5"));
        Files.write(step.resolve("mp_rank_00_model_states.pt"), new byte[0]);
        assertThat(Formats.detect(tmp)).isEqualTo(DEEPSPEED_DIR);
        assertThat(Formats.detect(step)).isEqualTo(DEEPSPEED_DIR);
    }

    @Test
    void megatronDeepSpeedTrackerWithGlobalStepDirsIsDeepSpeed() throws IOException {
        Files.writeString(tmp.resolve("latest_checkpointed_iteration.txt"), "5");
        Files.createDirectory(tmp.resolve("global_step5"));
        assertThat(Formats.detect(tmp)).isEqualTo(DEEPSPEED_DIR);
    }

    @Test
    void trackerOnlyIsASaveDir() throws IOException {
        Files.writeString(tmp.resolve("latest_checkpointed_iteration.txt"), "5");
        assertThat(Formats.detect(tmp)).isEqualTo(MEGATRON_SAVE_DIR);
    }

    @Test
    void releaseDirIsASaveDir() throws IOException {
        Files.createDirectory(tmp.resolve("release"));
        assertThat(Formats.detect(tmp)).isEqualTo(MEGATRON_SAVE_DIR);
    }

    @Test
    void mpRankDirsWithPipelineSuffix() throws IOException {
        Files.createDirectory(tmp.resolve("mp_rank_00_000"));
        assertThat(Formats.detect(tmp)).isEqualTo(MEGATRON_LEGACY_ITERATION);
    }

    @Test
    void unindexedSafetensorsDirAndContentSniffing() throws IOException {
        Path src = Fixtures.path("torch-save", "reference", "zip_nested.pt.safetensors");
        Files.copy(src, tmp.resolve("adapter.safetensors"));
        assertThat(Formats.detect(tmp)).isEqualTo(HF_SAFETENSORS_DIR);
        // No extension: the 8-byte length + '{' header still says safetensors.
        Path bare = Files.copy(src, tmp.resolve("weights.bin"));
        assertThat(Formats.detect(bare)).isEqualTo(SAFETENSORS_FILE);
    }

    @Test
    void torchFilesByContentWhateverTheirName() throws IOException {
        Path zip = Files.copy(Fixtures.path("torch-save", "files", "zip_nested.pt"), tmp.resolve("weights.bin"));
        assertThat(Formats.detect(zip)).isEqualTo(TORCH_SAVE_FILE);
        Path legacy = Files.copy(Fixtures.path("torch-save", "files", "legacy_nonzip.pt"), tmp.resolve("model.ckpt"));
        assertThat(Formats.detect(legacy)).isEqualTo(TORCH_SAVE_FILE);
        Files.write(tmp.resolve("p1"), "PYTORCH1".getBytes(StandardCharsets.US_ASCII));
        assertThat(Formats.detect(tmp.resolve("p1"))).isEqualTo(TORCH_SAVE_FILE);
    }

    @Test
    void tarFilesOnlyWhenTheyLookLikeOldTorch() throws IOException {
        assertThat(Formats.detect(tar("a.tar", "sys_info"))).isEqualTo(TORCH_SAVE_FILE);
        assertThat(Formats.detect(tar("b.tar", "photos/cat.jpg"))).isEqualTo(UNKNOWN);
        assertThat(Formats.detect(tar("model.pth.tar", "././@PaxHeader"))).isEqualTo(TORCH_SAVE_FILE);
    }

    @Test
    void tinyAndEmptyFiles() throws IOException {
        Files.write(tmp.resolve("empty.pt"), new byte[0]);
        Files.write(tmp.resolve("one"), new byte[]{'P'});
        assertThat(Formats.detect(tmp.resolve("empty.pt"))).isEqualTo(UNKNOWN);
        assertThat(Formats.detect(tmp.resolve("one"))).isEqualTo(UNKNOWN);
    }

    private Path tar(String name, String firstMember) throws IOException {
        byte[] b = new byte[1024];
        byte[] m = firstMember.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(m, 0, b, 0, m.length);
        System.arraycopy("ustar".getBytes(StandardCharsets.US_ASCII), 0, b, 257, 5);
        Path p = tmp.resolve(name);
        Files.write(p, b);
        return p;
    }
}
