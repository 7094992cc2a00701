package ckpt.cli;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Picks one mutation of a checkpoint file: bit flips, byte runs, truncation, inflated length and size fields, and
 * splices. Length fields are found from the formats' own rules, not from one fixture: zip headers (local, central,
 * end records, zip64), the safetensors header length and its JSON numbers, pickle length-prefixed opcodes and the
 * small integers pickles store sizes, offsets and shapes in (inside every {@code *.pkl} entry, a DCP
 * {@code .metadata}, a legacy torch.save stream), and numbers in JSON files.
 */
final class FuzzMutator {
    /** A field worth inflating: {@code width} little-endian bytes at {@code offset}; PICKLE_INT replaces opcode and argument. */
    record Field(long offset, int width, Kind kind) {
    }

    enum Kind { LE_LENGTH, PICKLE_INT, JSON_NUMBER }

    private static final long[] HUGE = {Long.MAX_VALUE, 1L << 62, -1L, Long.MIN_VALUE, 1L << 31, 1L << 32, (1L << 40) + 3};
    private static final String[] JSON_HUGE = {"4611686018427387904", "9223372036854775807", "18446744073709551616",
            "-1", "1e308", "0", "-9223372036854775808", "3.5"};
    private static final String[] TRACKER_TEXT = {"", "-1", "99999999999999999999", "9223372036854775807", "4\n\0",
            "../../../etc", "global_step4/../../..", "iter_0000004", "release", "0", "2", "\u00ff\u00fe", " 4 ", "1e3"};

    private FuzzMutator() {
    }

    static FuzzMutation mutate(String name, byte[] b, Random r) {
        List<Field> fields = fields(name, b);
        boolean tracker = name.endsWith("latest_checkpointed_iteration.txt") || name.startsWith("latest")
                || name.contains("/latest");
        if (tracker && r.nextInt(3) == 0) {
            byte[] text = TRACKER_TEXT[r.nextInt(TRACKER_TEXT.length)].getBytes(StandardCharsets.ISO_8859_1);
            return new FuzzMutation(name, "tracker text", 0, b.length, text);
        }
        int roll = r.nextInt(100);
        if (b.length == 0 || (roll < 40 && !fields.isEmpty())) {
            if (fields.isEmpty()) return new FuzzMutation(name, "grow", 0, 0, new byte[]{(byte) r.nextInt(256)});
            return inflate(name, b, fields.get(r.nextInt(fields.size())), r);
        }
        if (roll < 62) {
            long at = near(b, fields, r);
            int bit = r.nextInt(8);
            return new FuzzMutation(name, "bit flip (bit " + bit + ")", at, 1, new byte[]{(byte) (b[(int) at] ^ (1 << bit))});
        }
        if (roll < 76) {
            long at = near(b, fields, r);
            int len = 1 + r.nextInt(r.nextBoolean() ? 16 : 512);
            len = (int) Math.min(len, b.length - at);
            byte[] run = new byte[len];
            int fill = r.nextInt(4);
            if (fill == 3) r.nextBytes(run);
            else java.util.Arrays.fill(run, (byte) (fill == 0 ? 0 : fill == 1 ? 0xFF : r.nextInt(256)));
            return new FuzzMutation(name, fill == 3 ? "random bytes" : "byte run", at, len, run);
        }
        if (roll < 86) {
            int where = r.nextInt(3);
            long at = where == 0 ? r.nextInt(Math.min(b.length, 1024)) : where == 1 ? Math.max(0, b.length - 1 - r.nextInt(64)) : r.nextInt(b.length);
            return new FuzzMutation(name, "truncation", at, b.length - at, new byte[0]);
        }
        int len = 1 + r.nextInt(Math.min(b.length, r.nextBoolean() ? 64 : 4096));
        int from = r.nextInt(b.length - len + 1);
        long at = near(b, fields, r);
        byte[] piece = java.util.Arrays.copyOfRange(b, from, from + len);
        boolean insert = r.nextBoolean();
        return new FuzzMutation(name, "splice of bytes " + from + ".." + (from + len) + (insert ? " inserted" : " overwritten"),
                at, insert ? 0 : Math.min(len, b.length - at), piece);
    }

    /** An offset: half the time next to a structural field (where mutations matter most), else anywhere. */
    private static long near(byte[] b, List<Field> fields, Random r) {
        if (fields.isEmpty() || r.nextBoolean()) return r.nextInt(b.length);
        Field f = fields.get(r.nextInt(fields.size()));
        long at = f.offset() + r.nextInt(64) - 16;
        return Math.clamp(at, 0, b.length - 1);
    }

    private static FuzzMutation inflate(String name, byte[] b, Field f, Random r) {
        long huge = HUGE[r.nextInt(HUGE.length)];
        switch (f.kind()) {
            case PICKLE_INT -> {
                // LONG1 of 8 bytes: any integer the pickle held (a size, offset, dimension) becomes a huge one
                ByteBuffer bb = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN).put((byte) 0x8a).put((byte) 8).putLong(huge);
                return new FuzzMutation(name, "pickle int → " + huge, f.offset(), f.width(), bb.array());
            }
            case JSON_NUMBER -> {
                String v = JSON_HUGE[r.nextInt(JSON_HUGE.length)];
                return new FuzzMutation(name, "json number → " + v, f.offset(), f.width(), v.getBytes(StandardCharsets.US_ASCII));
            }
            default -> {
                long old = le(b, f.offset(), f.width());
                long v = switch (r.nextInt(4)) {
                    case 0 -> huge;
                    case 1 -> old + 1;
                    case 2 -> old * 2 + 1;
                    default -> f.width() == 8 ? Long.MAX_VALUE : (1L << (8 * f.width())) - 1; // the field's largest value
                };
                byte[] out = new byte[f.width()];
                for (int i = 0; i < f.width(); i++) out[i] = (byte) (v >>> (8 * i));
                return new FuzzMutation(name, "length field (" + f.width() + " bytes, was " + old + ") → " + le(out, 0, f.width()),
                        f.offset(), f.width(), out);
            }
        }
    }

    static List<Field> fields(String name, byte[] b) {
        List<Field> out = new ArrayList<>();
        zipFields(b, out);
        if (name.endsWith(".safetensors") && b.length >= 8) {
            out.add(new Field(0, 8, Kind.LE_LENGTH));
            long n = le(b, 0, 8);
            if (n > 0 && n <= b.length - 8) jsonNumbers(b, 8, (int) (8 + n), out);
        }
        if (name.endsWith(".json")) jsonNumbers(b, 0, b.length, out);
        if (name.endsWith(".metadata") || (name.endsWith(".pt") && !startsWith(b, 0, "PK"))) pickleFields(b, 0, b.length, out);
        return out;
    }

    private static void zipFields(byte[] b, List<Field> out) {
        for (int o = 0; o + 4 <= b.length; o++) {
            if (b[o] != 'P' || b[o + 1] != 'K') continue;
            int t = (b[o + 2] << 8) | b[o + 3];
            if (t == 0x0304 && o + 30 <= b.length) {
                for (int[] f : new int[][]{{18, 4}, {22, 4}, {26, 2}, {28, 2}}) out.add(new Field(o + f[0], f[1], Kind.LE_LENGTH));
                int n = (int) le(b, o + 26, 2), e = (int) le(b, o + 28, 2);
                long size = le(b, o + 18, 4);
                int data = o + 30 + n + e;
                String entry = o + 30 + n <= b.length ? new String(b, o + 30, n, StandardCharsets.ISO_8859_1) : "";
                if (entry.endsWith(".pkl") && data + size <= b.length) pickleFields(b, data, (int) (data + size), out);
            } else if (t == 0x0102 && o + 46 <= b.length) {
                for (int[] f : new int[][]{{20, 4}, {24, 4}, {28, 2}, {30, 2}, {32, 2}, {42, 4}}) out.add(new Field(o + f[0], f[1], Kind.LE_LENGTH));
                int n = (int) le(b, o + 28, 2), e = (int) le(b, o + 30, 2);
                int x = o + 46 + n;
                while (x + 4 <= Math.min(b.length, o + 46 + n + e)) {
                    int id = (int) le(b, x, 2), sz = (int) le(b, x + 2, 2);
                    if (id == 1) for (int k = 0; k + 8 <= sz && x + 4 + k + 8 <= b.length; k += 8) out.add(new Field(x + 4 + k, 8, Kind.LE_LENGTH));
                    x += 4 + sz;
                }
            } else if (t == 0x0506 && o + 22 <= b.length) {
                for (int[] f : new int[][]{{8, 2}, {10, 2}, {12, 4}, {16, 4}, {20, 2}}) out.add(new Field(o + f[0], f[1], Kind.LE_LENGTH));
            } else if (t == 0x0606 && o + 56 <= b.length) {
                for (int k = 24; k <= 48; k += 8) out.add(new Field(o + k, 8, Kind.LE_LENGTH));
            } else if (t == 0x0607 && o + 16 <= b.length) {
                out.add(new Field(o + 8, 8, Kind.LE_LENGTH));
            }
        }
    }

    /** Length-prefixed opcodes and small integers in a pickle (found by scanning: a wrong guess is just another mutation). */
    private static void pickleFields(byte[] b, int from, int to, List<Field> out) {
        for (int i = from; i < to - 1; i++) {
            int op = b[i] & 0xFF;
            switch (op) {
                case 'X', 'B', 'T' -> {
                    if (i + 5 <= to && le(b, i + 1, 4) <= to - i - 5 && (op != 'X' || printable(b, i + 5, Math.min(4, to - i - 5))))
                        out.add(new Field(i + 1, 4, Kind.LE_LENGTH));
                }
                case 0x8c, 'U', 'C' -> {
                    int n = b[i + 1] & 0xFF;
                    if (n > 0 && i + 2 + n <= to && printable(b, i + 2, Math.min(n, 4))) out.add(new Field(i + 1, 1, Kind.LE_LENGTH));
                }
                case 0x95, 0x8d, 0x8e, 0x96 -> {
                    if (i + 9 <= to && le(b, i + 1, 8) <= to - i - 9) out.add(new Field(i + 1, 8, Kind.LE_LENGTH));
                }
                case 'K' -> out.add(new Field(i, 2, Kind.PICKLE_INT));
                case 'M' -> {
                    if (i + 3 <= to) out.add(new Field(i, 3, Kind.PICKLE_INT));
                }
                case 'J' -> {
                    if (i + 5 <= to) out.add(new Field(i, 5, Kind.PICKLE_INT));
                }
                case 0x8a -> {
                    int n = b[i + 1] & 0xFF;
                    if (n <= 8 && i + 2 + n <= to) out.add(new Field(i, 2 + n, Kind.PICKLE_INT));
                }
                default -> {
                }
            }
        }
    }

    private static void jsonNumbers(byte[] b, int from, int to, List<Field> out) {
        for (int i = from; i < to; i++) {
            if (!Character.isDigit(b[i]) || (i > from && (Character.isLetterOrDigit(b[i - 1]) || b[i - 1] == '_' || b[i - 1] == '.' || b[i - 1] == '-'))) continue;
            int j = i;
            while (j < to && Character.isDigit(b[j])) j++;
            if (j < to && (Character.isLetter(b[j]) || b[j] == '_')) continue; // part of a name, not a number
            out.add(new Field(i, j - i, Kind.JSON_NUMBER));
            i = j;
        }
    }

    private static boolean printable(byte[] b, int at, int n) {
        for (int k = 0; k < n; k++) if (b[at + k] < 0x20 || b[at + k] > 0x7e) return false;
        return true;
    }

    private static boolean startsWith(byte[] b, int at, String s) {
        if (b.length < at + s.length()) return false;
        for (int k = 0; k < s.length(); k++) if (b[at + k] != s.charAt(k)) return false;
        return true;
    }

    static long le(byte[] b, long at, int width) {
        long v = 0;
        for (int k = 0; k < width && at + k < b.length; k++) v |= (b[(int) at + k] & 0xFFL) << (8 * k);
        return v;
    }
}
