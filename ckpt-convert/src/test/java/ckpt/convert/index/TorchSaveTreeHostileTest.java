package ckpt.convert.index;

import ckpt.format.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Object graphs a pickle can describe but a naive tree walk cannot survive: a list containing itself, a DAG of 60
 * levels that is 2^60 paths when expanded, and a memoized long key repeated down a path. Each is a tiny torch.save
 * zip written here (hand-assembled protocol-2 pickles).
 */
class TorchSaveTreeHostileTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(10)
    void listContainingItself() throws IOException {
        // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP
        Path p = torchZip("cycle.pt", new byte[]{(byte) 0x80, 2, ']', 'q', 0, 'h', 0, 'a', '.'});
        try (CheckpointIndex index = Checkpoints.open(p)) {
            assertThat(index.tensors()).isEmpty();
            assertThat(index.objects()).isEmpty();
        }
    }

    @Test
    @Timeout(10)
    void exponentialDag() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[]{(byte) 0x80, 2, 'K', 1, 'q', 0, '0'});
        for (int i = 0; i < 60; i++) b.writeBytes(new byte[]{'(', 'h', (byte) i, 'h', (byte) i, 'l', 'q', (byte) (i + 1), '0'});
        b.writeBytes(new byte[]{'h', 60, '.'});
        try (CheckpointIndex index = Checkpoints.open(torchZip("dag.pt", b.toByteArray()))) {
            assertThat(index.objects()).hasSizeLessThanOrEqualTo(2);
        }
    }

    @Test
    void memoizedLongKeyDownAPath() throws IOException {
        int n = 60_000;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[]{(byte) 0x80, 2, 'X'});
        b.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(n).array());
        b.writeBytes("k".repeat(n).getBytes());
        // memo[0] = key; {key: {key: 1}}
        b.writeBytes(new byte[]{'q', 0, '0', '}', 'h', 0, '}', 'h', 0, 'K', 1, 's', 's', '.'});
        Path p = torchZip("longkey.pt", b.toByteArray());
        assertThatThrownBy(() -> Checkpoints.open(p))
                .isInstanceOf(FormatException.class).hasMessageContaining("path longer than");
    }

    private Path torchZip(String name, byte[] pickle) throws IOException {
        Path p = tmp.resolve(name);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(p))) {
            ZipEntry e = new ZipEntry("archive/data.pkl");
            e.setMethod(ZipEntry.STORED);
            e.setSize(pickle.length);
            CRC32 crc = new CRC32();
            crc.update(pickle);
            e.setCrc(crc.getValue());
            z.putNextEntry(e);
            z.write(pickle);
            z.closeEntry();
        }
        return p;
    }
}
