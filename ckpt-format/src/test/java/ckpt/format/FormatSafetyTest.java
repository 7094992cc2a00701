package ckpt.format;

import ckpt.format.dcp.ShardFiles;
import ckpt.format.megatron.CheckpointingConfig;
import ckpt.format.megatron.SaveDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Issue #12 items 3, 5 and 6 at the format layer: typed errors naming the file for hostile sizes, trackers and configs. */
class FormatSafetyTest {
    @TempDir
    Path tmp;

    @Test
    void aRecordLengthNear2To63IsAFormatErrorNotAnOverflow() throws Exception {
        Files.write(tmp.resolve("__0_0.distcp"), new byte[100]);
        try (ShardFiles f = new ShardFiles(tmp)) {
            assertThatThrownBy(() -> f.window("__0_0.distcp", 10, Long.MAX_VALUE, "w"))
                    .isInstanceOfSatisfying(FormatException.class, e -> {
                        assertThat(e.file()).isEqualTo(tmp.resolve("__0_0.distcp"));
                        assertThat(e.key()).isEqualTo("w");
                        assertThat(e.detail()).contains("past the end").doesNotContain("(key");
                    });
        }
    }

    @Test
    void errorsCarryTheirPartsAndNeverRepeatTheLocation() {
        FormatException inner = FormatException.atOffset(Path.of("f.pt"), 1653, "bad opcode");
        FormatException outer = new FormatException(inner, "unreadable: " + inner.detail());
        assertThat(outer.getMessage()).isEqualTo("f.pt: unreadable: bad opcode (at byte 1653)");
        assertThat(outer.offset()).isEqualTo(1653);
        assertThat(new FormatException(Path.of("a"), "two\nlines").getMessage()).isEqualTo("a: two");
    }

    @Test
    void metadataJsonWithUnknownKeysOrImpossibleValuesIsRefused() throws Exception {
        Path f = tmp.resolve(CheckpointingConfig.FILE);
        for (String json : new String[]{
                "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 1, \"evil\": 1}",
                "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": -3}",
                "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 99999999999}",
                "{\"sharded_backend\": 7}",
                "{\"sharded_backend\": \"torch_dist\", \"common_backend_version\": \"one\"}"}) {
            Files.writeString(f, json);
            assertThatThrownBy(() -> CheckpointingConfig.read(tmp)).as(json).isInstanceOf(FormatException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining("metadata.json");
        }
        Files.writeString(f, "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 1, \"common_backend\": \"torch\", \"common_backend_version\": 1}");
        assertThat(CheckpointingConfig.read(tmp).shardedBackend()).isEqualTo("torch_dist");
    }

    @Test
    void aTrackerOfNonUtf8BytesIsNamed() throws Exception {
        Files.createDirectories(tmp.resolve("iter_0000001"));
        Files.write(tmp.resolve(SaveDir.TRACKER), new byte[]{'1', (byte) 0xFF});
        assertThatThrownBy(() -> SaveDir.open(tmp)).isInstanceOf(FormatException.class)
                .hasMessageContaining(SaveDir.TRACKER).hasMessageContaining("not UTF-8").hasMessageContaining("at byte 1");
    }
}
