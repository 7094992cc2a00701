package ckpt.format.torchsave;

import ckpt.format.FormatException;
import ckpt.format.pickle.PickleReader;
import ckpt.format.pickle.PyDict;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The legacy (pre-1.6, or {@code _use_new_zipfile_serialization=False}) torch.save stream (FORMATS.md §2.8a): five
 * pickles back to back — magic number, protocol version, sys_info, the object, the storage key list — then each
 * storage's payload in key-list order as an int64 LE element count followed by the raw elements. The payloads carry
 * no names, so each one's size comes from the storage the object pickle declared under that key; every count is
 * checked against that declaration and against the bytes left before any offset is trusted. Bytes after the last
 * payload are ignored, as torch.load ignores them (several objects may be saved into one open file).
 */
record LegacyStream(Object root, Map<String, StorageRecord> records, Map<String, StorageRef> storages) {
    static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    static final long PROTOCOL_VERSION = 1001;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Whether the data start like a pickle whose first opcode is PROTO (how torch's magic-number pickle starts). */
    static boolean startsLikePickle(MemorySegment seg) {
        return seg.byteSize() >= 2 && (seg.get(ValueLayout.JAVA_BYTE, 0) & 0xFF) == 0x80
                && seg.get(ValueLayout.JAVA_BYTE, 1) >= 2 && seg.get(ValueLayout.JAVA_BYTE, 1) <= 5;
    }

    static LegacyStream parse(Path file, MemorySegment seg) {
        PickleReader plain = PickleReader.builder().file(file).build();
        PickleReader.Result magic = plain.readAt(seg, 0);
        if (!MAGIC.equals(magic.value()))
            throw new FormatException(file, "not a torch.save file (expected a zip or legacy torch.save stream): "
                    + "a pickle without torch's magic number, e.g. written by pickle.dump");
        PickleReader.Result protocol = plain.readAt(seg, magic.end());
        if (!Long.valueOf(PROTOCOL_VERSION).equals(protocol.value()))
            throw FormatException.atOffset(file, magic.end(), "legacy torch.save protocol version " + protocol.value()
                    + ", expected " + PROTOCOL_VERSION);
        PickleReader.Result sysInfo = plain.readAt(seg, protocol.end());
        if (!(sysInfo.value() instanceof PyDict info))
            throw FormatException.atOffset(file, protocol.end(), "legacy torch.save sys_info is not a dict");
        if (!Boolean.TRUE.equals(info.get("little_endian")))
            throw FormatException.atOffset(file, protocol.end(), "legacy torch.save written on a big-endian host "
                    + "(sys_info little_endian=" + info.get("little_endian") + "): not supported");

        Map<String, StorageRef> storages = new LinkedHashMap<>();
        PickleReader objects = TorchGlobals.reader(file)
                .persistentLoader(pid -> declare(file, storages, TorchGlobals.storage(file, pid)))
                .build();
        PickleReader.Result object = objects.readAt(seg, sysInfo.end());
        PickleReader.Result keyList = plain.readAt(seg, object.end());
        List<String> keys = keys(file, object.end(), keyList.value(), storages);
        Map<String, StorageRecord> records = payloads(file, seg, keyList.end(), keys, storages);
        return new LegacyStream(object.value(), Collections.unmodifiableMap(records), Collections.unmodifiableMap(storages));
    }

    /** The same key must always describe the same storage: its payload has one size. */
    private static StorageRef declare(Path file, Map<String, StorageRef> storages, StorageRef s) {
        StorageRef before = storages.putIfAbsent(s.key(), s);
        if (before != null && (before.dtype() != s.dtype() || before.numel() != s.numel()))
            throw new FormatException(file, "storage " + s.key() + " is declared twice with different types or sizes ("
                    + before.dtype() + "×" + before.numel() + ", " + s.dtype() + "×" + s.numel() + ")");
        return s;
    }

    private static List<String> keys(Path file, long at, Object value, Map<String, StorageRef> storages) {
        if (!(value instanceof List<?> list))
            throw FormatException.atOffset(file, at, "legacy torch.save storage key list is not a list: " + typeName(value));
        Set<String> seen = new HashSet<>();
        for (Object k : list) {
            if (!(k instanceof String s))
                throw FormatException.atOffset(file, at, "legacy torch.save storage key is not a string: " + typeName(k));
            if (!seen.add(s)) throw FormatException.atOffset(file, at, "storage key " + s + " is listed twice");
            if (!storages.containsKey(s))
                throw FormatException.atOffset(file, at, "storage key " + s + " is listed but no tensor uses it, so its size is unknown");
        }
        for (String k : storages.keySet())
            if (!seen.contains(k))
                throw FormatException.atOffset(file, at, "storage " + k + " is used by a tensor but has no payload in the key list");
        @SuppressWarnings("unchecked")
        List<String> keys = (List<String>) list;
        return keys;
    }

    private static Map<String, StorageRecord> payloads(Path file, MemorySegment seg, long start, List<String> keys,
                                                       Map<String, StorageRef> storages) {
        Map<String, StorageRecord> records = new LinkedHashMap<>();
        long pos = start;
        for (String key : keys) {
            StorageRef s = storages.get(key);
            long elementSize = s.dtype() == null ? 1 : s.dtype().byteSize();
            if (seg.byteSize() - pos < 8)
                throw FormatException.atOffset(file, pos, "file ends before the element count of storage " + key);
            long count = seg.get(I64, pos);
            long left = seg.byteSize() - pos - 8;
            if (count < 0 || count > left / elementSize)
                throw FormatException.atOffset(file, pos, "storage " + key + " claims " + Long.toUnsignedString(count)
                        + " elements of " + elementSize + " bytes but only " + left + " bytes are left");
            if (count != s.numel())
                throw FormatException.atOffset(file, pos, "storage " + key + " holds " + count
                        + " elements but its tensors declare " + s.numel());
            long length = count * elementSize;
            records.put(key, new StorageRecord(key, pos + 8, length));
            pos += 8 + length;
        }
        return records;
    }

    private static String typeName(Object o) {
        return ckpt.format.pickle.PyRepr.typeName(o);
    }
}
