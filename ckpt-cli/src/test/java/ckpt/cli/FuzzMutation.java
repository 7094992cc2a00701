package ckpt.cli;

import java.util.HexFormat;

/**
 * One mutation of one file: bytes {@code [offset, offset + removed)} are replaced by {@code inserted} (a bit flip,
 * a byte run, a truncation, an inflated length field and a splice are all this). {@link #toString()} is the recipe a
 * failure prints, enough to rebuild the input by hand.
 */
record FuzzMutation(String file, String kind, long offset, long removed, byte[] inserted) {
    byte[] apply(byte[] original) {
        int at = (int) Math.min(offset, original.length);
        int cut = (int) Math.min(removed, original.length - at);
        byte[] out = new byte[original.length - cut + inserted.length];
        System.arraycopy(original, 0, out, 0, at);
        System.arraycopy(inserted, 0, out, at, inserted.length);
        System.arraycopy(original, at + cut, out, at + inserted.length, original.length - at - cut);
        return out;
    }

    @Override
    public String toString() {
        String hex = HexFormat.of().formatHex(inserted, 0, Math.min(inserted.length, 32)) + (inserted.length > 32 ? "…" : "");
        return file + ": " + kind + " at byte " + offset + ", " + removed + " bytes replaced by " + inserted.length
                + " [" + hex + "]";
    }
}
