package ckpt.format.zip;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Record signatures, fixed lengths and little-endian accessors of the zip format (PKWARE APPNOTE 6.3). */
final class ZipSpec {
    static final int LOCAL_SIG = 0x04034b50;
    static final int CENTRAL_SIG = 0x02014b50;
    static final int END_SIG = 0x06054b50;
    static final int ZIP64_END_SIG = 0x06064b50;
    static final int ZIP64_LOCATOR_SIG = 0x07064b50;

    static final int LOCAL_LEN = 30;
    static final int CENTRAL_LEN = 46;
    static final int END_LEN = 22;
    static final int ZIP64_END_LEN = 56;       // version-1 record, no extensible data
    static final int ZIP64_LOCATOR_LEN = 20;
    static final int MAX_COMMENT = 0xFFFF;

    static final int ZIP64_EXTRA_ID = 0x0001;
    static final int FB_EXTRA_ID = 0x4246;     // 'F','B' as a little-endian u16: torch's alignment padding
    static final long MAGIC32 = 0xFFFFFFFFL;   // "look in the zip64 record / extra field"
    static final int MAGIC16 = 0xFFFF;

    static final int FLAG_ENCRYPTED = 1;
    static final int FLAG_UTF8 = 1 << 11;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ZipSpec() {
    }

    static int u16(MemorySegment s, long at) {
        return Short.toUnsignedInt(s.get(U16, at));
    }

    static int i32(MemorySegment s, long at) {
        return s.get(U32, at);
    }

    static long u32(MemorySegment s, long at) {
        return Integer.toUnsignedLong(s.get(U32, at));
    }

    /** Raw 64-bit field; callers reject values with the top bit set (≥ 2^63 cannot be a real size or offset). */
    static long u64(MemorySegment s, long at) {
        return s.get(U64, at);
    }
}
