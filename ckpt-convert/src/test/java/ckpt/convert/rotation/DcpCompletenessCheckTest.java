package ckpt.convert.rotation;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static ckpt.format.testing.Fixtures.copyTree;
import static org.assertj.core.api.Assertions.assertThat;

/** The .metadata-level completeness check, alone and chained after the file-level one as list/rotate use it. */
class DcpCompletenessCheckTest {
    private final CompletenessCheck chained = new FileLevelCompletenessCheck().then(new DcpCompletenessCheck());

    @TempDir
    Path tmp;

    @Test
    void intactCheckpointsAreComplete() throws Exception {
        assertThat(new DcpCompletenessCheck().check(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000004")))
                .isEqualTo(CompletenessCheck.Status.complete(Layout.TORCH_DIST));
        assertThat(chained.check(Fixtures.path(RotationFixtures.DCP))).isEqualTo(CompletenessCheck.Status.complete(Layout.DCP));
        assertThat(chained.check(Fixtures.path(RotationFixtures.CORE014).resolve("iter_0000004")).complete()).isTrue();
        // No .metadata: nothing to add; the chain keeps the file-level layout.
        assertThat(chained.check(Fixtures.path(RotationFixtures.LEGACY).resolve("iter_0000004")))
                .isEqualTo(CompletenessCheck.Status.complete(Layout.LEGACY_TORCH));
    }

    @Test
    void aTruncatedShardMakesTheCheckpointIncomplete() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Path shard = sd.resolve("iter_0000002/__1_0.distcp");
        long size = Files.size(shard);
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(size - 100);
        }
        // The file-level check sees a readable file and passes it ...
        assertThat(new FileLevelCompletenessCheck().check(sd.resolve("iter_0000002")).complete()).isTrue();
        // ... the deeper one does not.
        CompletenessCheck.Status s = chained.check(sd.resolve("iter_0000002"));
        assertThat(s.complete()).isFalse();
        assertThat(s.layout()).isEqualTo(Layout.TORCH_DIST);
        assertThat(s.problems()).singleElement().asString()
                .startsWith("__1_0.distcp: truncated: the file has " + (size - 100) + " bytes but the metadata places records up to byte " + size);

        SaveDirListing l = new SaveDirLister(chained).list(sd);
        assertThat(l.entries()).filteredOn(e -> e.name().equals("iter_0000002")).singleElement()
                .satisfies(e -> assertThat(e.state()).isEqualTo(CheckpointState.INCOMPLETE));
        assertThat(l.entries()).filteredOn(e -> e.name().equals("iter_0000004")).singleElement()
                .satisfies(e -> assertThat(e.state()).isEqualTo(CheckpointState.COMPLETE));
    }

    @Test
    void aMissingShardMakesTheCheckpointIncomplete() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Files.delete(sd.resolve("iter_0000004/__0_0.distcp"));
        CompletenessCheck.Status s = chained.check(sd.resolve("iter_0000004"));
        assertThat(s.complete()).isFalse();
        assertThat(s.problems()).singleElement().asString().startsWith("__0_0.distcp: missing data file");
    }

    @Test
    void anUnreadableMetadataMakesTheCheckpointIncomplete() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Files.write(sd.resolve("iter_0000004/.metadata"), new byte[]{(byte) 0x80, 4, 'x'});
        CompletenessCheck.Status s = chained.check(sd.resolve("iter_0000004"));
        assertThat(s.complete()).isFalse();
        assertThat(s.problems()).singleElement().asString().startsWith(".metadata unreadable: ");
    }
}
