package ckpt.convert.index;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Damaged copies of a real Megatron iteration give one-line errors naming the file and the key. */
class DcpDamageTest {
    @TempDir
    Path tmp;

    private Path copy() throws IOException {
        Path src = Fixtures.path("megatron-llama-tp2/checkpoint/iter_0000004");
        Path dst = tmp.resolve("iter_0000004");
        Files.createDirectories(dst);
        try (Stream<Path> s = Files.list(src)) {
            for (Path p : (Iterable<Path>) s::iterator) if (Files.isRegularFile(p)) Files.copy(p, dst.resolve(p.getFileName()));
        }
        return dst;
    }

    private static void assembleAll(CheckpointIndex index) {
        try (Arena arena = Arena.ofConfined()) {
            for (GlobalTensor t : index.tensors()) TensorAssembler.assemble(t, arena.allocate(t.byteSize()));
        }
    }

    @Test
    void missingMetadataIsAnIncompleteSave() throws IOException {
        Path dir = copy();
        Files.delete(dir.resolve(".metadata"));
        assertThatThrownBy(() -> Checkpoints.open(dir)).isInstanceOf(FormatException.class)
                .hasMessageContaining(".metadata").hasMessageContaining("incomplete save");
    }

    @Test
    void truncatedMetadataIsAnIncompleteSave() throws IOException {
        Path dir = copy();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(".metadata").toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        assertThatThrownBy(() -> Checkpoints.open(dir)).isInstanceOf(FormatException.class)
                .hasMessageContaining(".metadata").hasMessageContaining("an incomplete save?): truncated pickle: ");
    }

    @Test
    void missingMetadataJsonIsAnIncompleteSave() throws IOException {
        Path dir = copy();
        Files.delete(dir.resolve("metadata.json"));
        // Without metadata.json the dir is a plain DCP dir; Megatron's save writes it last.
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            assertThat(index.format()).isEqualTo(CheckpointFormat.DCP);
        }
    }

    @Test
    void missingShardNamesTheFile() throws IOException {
        Path dir = copy();
        Files.delete(dir.resolve("__1_0.distcp"));
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            assertThat(index.dataPresent()).isFalse();
            assertThatThrownBy(() -> assembleAll(index)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("__1_0.distcp").hasMessageContaining("missing");
        }
    }

    @Test
    void truncatedShardNamesFileAndKey() throws IOException {
        Path dir = copy();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("__0_0.distcp").toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            assertThatThrownBy(() -> assembleAll(index)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("__0_0.distcp").hasMessageContaining("key ")
                    .hasMessageContaining("past the end of the file");
        }
    }

    @Test
    void corruptedRecordHeaderIsAZipError() throws IOException {
        Path dir = copy();
        long offset;
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            offset = index.tensors().getFirst().pieces().stream().filter(p -> p.source().file().equals("__0_0.distcp"))
                    .findFirst().orElseThrow().source().offset();
        }
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("__0_0.distcp").toFile(), "rw")) {
            f.seek(offset);
            f.write(new byte[]{'X', 'X', 'X', 'X'});
        }
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            assertThatThrownBy(() -> assembleAll(index)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("__0_0.distcp");
        }
    }
}
