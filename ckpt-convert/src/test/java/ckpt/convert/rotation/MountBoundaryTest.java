package ckpt.convert.rotation;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static ckpt.convert.rotation.RotationFixtures.fingerprint;
import static ckpt.format.testing.Fixtures.copyTree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Issue #12 item 8: rotate never deletes across a file-system boundary inside a victim; it reports and keeps it. */
class MountBoundaryTest {
    @TempDir
    Path tmp;

    private static CheckpointEntry entry(Path saveDir, String name) throws Exception {
        return new SaveDirLister().list(saveDir).entries().stream().filter(e -> e.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aVictimHoldingAnotherDeviceIsKeptWhole() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Path mountPoint = Files.createDirectories(sd.resolve("iter_0000002/data-mount"));
        Files.writeString(mountPoint.resolve("elsewhere.bin"), "files of another file system");
        Map<String, String> before = fingerprint(sd.resolve("iter_0000002"));
        Path realMountPoint = mountPoint.toRealPath();
        // The seam: this directory reports another device, as a bind mount would.
        SafeDeleter.Devices devices = p -> p.toRealPath(java.nio.file.LinkOption.NOFOLLOW_LINKS).equals(realMountPoint)
                ? "other-device" : SafeDeleter.Devices.UNIX.of(p);

        Removal r = new SafeDeleter(sd, devices).remove(entry(sd, "iter_0000002"));

        assertThat(r.removed()).isFalse();
        assertThat(r.errors()).singleElement().asString().contains("data-mount").contains("another file system").contains("unmount");
        assertThat(sd.resolve("iter_0000002")).isDirectory(); // not even renamed
        assertThat(fingerprint(sd.resolve("iter_0000002"))).isEqualTo(before);
    }

    @Test
    void aRealBindMountIsNotCrossed() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("precious.txt"), "must survive");
        Path mountPoint = Files.createDirectories(sd.resolve("iter_0000002/mnt"));
        // tmpfs, not a bind mount: a bind mount of the same file system keeps its device number
        boolean mounted = run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint.toString()) == 0;
        assumeTrue(mounted, "mounting needs privileges this environment does not grant");
        try {
            Files.writeString(mountPoint.resolve("on-tmpfs.txt"), "another file system");
            Removal r = new SafeDeleter(sd).remove(entry(sd, "iter_0000002"));
            assertThat(r.removed()).isFalse();
            assertThat(mountPoint.resolve("on-tmpfs.txt")).hasContent("another file system");
            assertThat(outside.resolve("precious.txt")).hasContent("must survive");
        } finally {
            run("umount", mountPoint.toString());
        }
    }

    private static int run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor();
        } catch (Exception e) {
            return -1;
        }
    }
}
