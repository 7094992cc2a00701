package ckpt.format.zip;

/**
 * One entry of a zip archive as the central directory describes it, plus where its data really start (taken from
 * the local header, which carries torch's alignment padding that the central directory does not repeat).
 *
 * @param name              full entry name, e.g. {@code archive/data/0}
 * @param method            0 = STORED, 8 = DEFLATE
 * @param compressedSize    bytes of data in the archive
 * @param size              bytes once uncompressed (equal to {@code compressedSize} for STORED)
 * @param crc               CRC-32 recorded in the central directory (0 when the writer disabled CRCs)
 * @param localHeaderOffset offset of the local header, relative to the segment the archive was opened on
 * @param dataOffset        offset of the first data byte, relative to the segment the archive was opened on
 */
public record ZipEntryInfo(String name, int method, long compressedSize, long size, long crc,
                           long localHeaderOffset, long dataOffset) {
    public static final int STORED = 0;
    public static final int DEFLATED = 8;

    public boolean isStored() {
        return method == STORED;
    }

    public boolean isDirectory() {
        return name.endsWith("/");
    }
}
