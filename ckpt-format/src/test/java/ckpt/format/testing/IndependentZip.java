package ckpt.format.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads a torch.save zip with {@link ZipFile} (the JDK's reader, not ours): entry names in central-directory order,
 * contents with their CRC-32 checked, every entry STORED, and each record's data offset from its local header (the
 * FB padding lives only there) so tests can check the 64-byte alignment torch expects.
 */
public final class IndependentZip {
    private IndependentZip() {
    }

    public record Entry(String name, byte[] data, long dataOffset) {
    }

    public static List<Entry> read(Path file) {
        try (ZipFile zf = new ZipFile(file.toFile())) {
            byte[] whole = Files.readAllBytes(file);
            List<Entry> out = new ArrayList<>();
            for (ZipEntry e : Collections.list(zf.entries())) {
                if (e.getMethod() != ZipEntry.STORED) throw new AssertionError(e.getName() + " is not STORED");
                byte[] data;
                try (InputStream in = zf.getInputStream(e)) {
                    data = in.readAllBytes();
                }
                CRC32 crc = new CRC32();
                crc.update(data);
                if (crc.getValue() != e.getCrc()) throw new AssertionError("CRC mismatch in " + e.getName());
                out.add(new Entry(e.getName(), data, dataOffset(whole, e.getName())));
            }
            return out;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    public static Map<String, byte[]> contents(Path file) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (Entry e : read(file)) m.put(e.name(), e.data());
        return m;
    }

    /** Finds the local header naming {@code name} and returns where its data start (30 + name + extra). */
    private static long dataOffset(byte[] f, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        outer:
        for (int i = 0; i + 30 + n.length <= f.length; i++) {
            if (b.getInt(i) != 0x04034b50) continue;
            int nameLen = b.getShort(i + 26) & 0xFFFF, extraLen = b.getShort(i + 28) & 0xFFFF;
            if (nameLen != n.length) continue;
            for (int k = 0; k < n.length; k++) if (f[i + 30 + k] != n[k]) continue outer;
            return (long) i + 30 + nameLen + extraLen;
        }
        throw new AssertionError("no local header for " + name);
    }
}
