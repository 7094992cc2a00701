package ckpt.bench;

import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * Deterministic pseudo-random tensor contents. Element {@code i} (row-major index in the <em>global</em> tensor) of
 * a key is a pure function of (seed, key, i), so a chunk can be filled without the rest of the tensor, the same
 * global tensor comes out for any parallel layout, and its sha256 is computed by streaming the global order, never
 * by reading the checkpoint back. Values are drawn from a seeded table of 65,536 normal samples per kind
 * (N(0, 0.02) weights, 1 + N(0, 0.02) norms, small fp32 optimizer moments); a SplitMix64 hash of the index picks
 * the entry, one hash per four elements.
 */
public final class Values {
    /** What a tensor holds, and in which dtype. */
    public enum Kind {
        WEIGHT(DType.BFLOAT16), NORM(DType.BFLOAT16), MAIN_PARAM(DType.FLOAT32), EXP_AVG(DType.FLOAT32), EXP_AVG_SQ(DType.FLOAT32),
        /** Weights and norms of a model trained in fp32 ({@code --weights fp32}). */
        WEIGHT_FP32(DType.FLOAT32), NORM_FP32(DType.FLOAT32);

        public final DType dtype;

        Kind(DType dtype) {
            this.dtype = dtype;
        }
    }

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final int BUF = 1 << 20;

    private final long seed;
    private final short[][] bf16 = new short[Kind.values().length][];
    private final int[][] fp32 = new int[Kind.values().length][];

    public Values(long seed) {
        this.seed = seed;
        for (Kind k : Kind.values()) {
            SplittableRandom r = new SplittableRandom(seed * 31 + k.ordinal());
            short[] s = new short[65536];
            int[] f = new int[65536];
            for (int i = 0; i < s.length; i++) {
                float v = switch (k) {
                    case WEIGHT, MAIN_PARAM, WEIGHT_FP32 -> (float) (r.nextGaussian() * 0.02);
                    case NORM, NORM_FP32 -> (float) (1 + r.nextGaussian() * 0.02);
                    case EXP_AVG -> (float) (r.nextGaussian() * 1e-4);
                    case EXP_AVG_SQ -> (float) Math.pow(r.nextGaussian() * 1e-4, 2);
                };
                f[i] = Float.floatToRawIntBits(v);
                s[i] = toBf16(v);
            }
            bf16[k.ordinal()] = s;
            fp32[k.ordinal()] = f;
        }
    }

    /** fp32 → bf16, round to nearest even (values here are finite). */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The per-key stream seed. */
    public long keySeed(String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        return mix(seed ^ h);
    }

    /** Writes elements {@code [start, start+n)} of the key's stream as little-endian bytes into {@code buf}. */
    private void generate(Kind kind, long keySeed, long start, int n, byte[] buf) {
        long group = -1;
        long h = 0;
        if (kind.dtype == DType.BFLOAT16) {
            short[] table = bf16[kind.ordinal()];
            for (int j = 0, p = 0; j < n; j++, p += 2) {
                long i = start + j;
                long g = i >>> 2;
                if (g != group) {
                    group = g;
                    h = mix(keySeed + g * GOLDEN);
                }
                short v = table[(int) (h >>> ((i & 3) << 4)) & 0xFFFF];
                buf[p] = (byte) v;
                buf[p + 1] = (byte) (v >>> 8);
            }
        } else {
            int[] table = fp32[kind.ordinal()];
            for (int j = 0, p = 0; j < n; j++, p += 4) {
                long i = start + j;
                long g = i >>> 2;
                if (g != group) {
                    group = g;
                    h = mix(keySeed + g * GOLDEN);
                }
                int v = table[(int) (h >>> ((i & 3) << 4)) & 0xFFFF];
                buf[p] = (byte) v;
                buf[p + 1] = (byte) (v >>> 8);
                buf[p + 2] = (byte) (v >>> 16);
                buf[p + 3] = (byte) (v >>> 24);
            }
        }
    }

    /**
     * Where a tensor's elements come from: its own stream ({@code kind}, {@code key}), or, for the fp32 main parameters
     * of a bf16 weight ({@code weightKey} set), that weight's value widened to fp32 with pseudo-random low mantissa
     * bits below the rounding half, so each main parameter rounds (to nearest even) back to the saved weight — as
     * Megatron's do after an optimizer step; of an fp32 weight, the weight itself.
     */
    public record Stream(Kind kind, String key, Kind weightKind, String weightKey) {
        public static Stream own(Kind kind, String key) {
            return new Stream(kind, key, null, null);
        }

        public static Stream mainParamOf(String key, Kind weightKind, String weightKey) {
            return new Stream(Kind.MAIN_PARAM, key, weightKind, weightKey);
        }

        DType dtype() {
            return kind.dtype;
        }
    }

    /** Elements {@code [start, start+n)} of a stream as little-endian bytes into {@code buf}. */
    private void generate(Stream s, long start, int n, byte[] buf) {
        if (s.weightKey == null) {
            generate(s.kind, keySeed(s.key), start, n, buf);
            return;
        }
        if (s.weightKind.dtype == DType.FLOAT32) {
            generate(s.weightKind, keySeed(s.weightKey), start, n, buf);
            return;
        }
        byte[] w = new byte[n * 2];
        generate(s.weightKind, keySeed(s.weightKey), start, n, w);
        long own = keySeed(s.key), group = -1, h = 0;
        for (int j = 0, p = 0; j < n; j++, p += 4) {
            long i = start + j, g = i >>> 2;
            if (g != group) {
                group = g;
                h = mix(own + g * GOLDEN);
            }
            int low = (int) (h >>> ((i & 3) << 4)) & 0x7FFF; // < 0x8000: rounds down to the weight, never to the next bf16
            buf[p] = (byte) low;
            buf[p + 1] = (byte) (low >>> 8);
            buf[p + 2] = w[2 * j];
            buf[p + 3] = w[2 * j + 1];
        }
    }

    /** Elements {@code [start, start+n)} of the stream (global row-major indices) into {@code dst} at {@code dstOff}. */
    public void run(Stream s, long start, long n, MemorySegment dst, long dstOff) {
        int es = s.dtype().byteSize();
        byte[] buf = new byte[(int) Math.min(BUF, n * es)];
        for (long done = 0; done < n; ) {
            int k = (int) Math.min(n - done, buf.length / es);
            generate(s, start + done, k, buf);
            MemorySegment.copy(buf, 0, dst, ValueLayout.JAVA_BYTE, dstOff + done * es, k * es);
            done += k;
        }
    }

    /** Fills {@code dst} (the box's elements, row-major) with the values the global tensor has in that box. */
    public void fill(String key, Kind kind, long[] globalShape, Box box, MemorySegment dst) {
        fill(Stream.own(kind, key), globalShape, box, dst);
    }

    /** Fills {@code dst} (the box's elements, row-major) with the stream's values in that box of the global tensor. */
    public void fill(Stream s, long[] globalShape, Box box, MemorySegment dst) {
        Kind kind = s.kind;
        int es = kind.dtype.byteSize();
        if (dst.byteSize() != box.numel() * es) throw new IllegalArgumentException("destination size " + dst.byteSize());
        if (box.numel() == 0) return;
        int rank = globalShape.length;
        long[] stride = new long[rank];
        long acc = 1;
        for (int a = rank - 1; a >= 0; a--) {
            stride[a] = acc;
            acc *= globalShape[a];
        }
        // Trailing axes the box spans fully merge into one contiguous run.
        int k = rank;
        long run = 1;
        while (k > 0) {
            run *= box.size(k - 1);
            k--;
            if (box.offset(k) != 0 || box.size(k) != globalShape[k]) break;
        }
        byte[] buf = new byte[(int) Math.min(BUF, run * es)];
        long[] idx = new long[k]; // position among the runs (axes < k)
        long dstOff = 0;
        while (true) {
            long start = 0;
            for (int a = 0; a < rank; a++) start += (box.offset(a) + (a < k ? idx[a] : 0)) * stride[a];
            for (long done = 0; done < run; ) {
                int n = (int) Math.min(run - done, buf.length / es);
                generate(s, start + done, n, buf);
                MemorySegment.copy(buf, 0, dst, ValueLayout.JAVA_BYTE, dstOff, n * es);
                dstOff += (long) n * es;
                done += n;
            }
            int a = k - 1;
            while (a >= 0 && ++idx[a] == box.size(a)) idx[a--] = 0;
            if (a < 0) break;
        }
    }

    /** sha256 of the whole global tensor's little-endian bytes in row-major order. */
    public String sha256(String key, Kind kind, long[] globalShape) {
        return sha256(Stream.own(kind, key), globalShape);
    }

    /** sha256 of the whole global tensor's little-endian bytes in row-major order. */
    public String sha256(Stream s, long[] globalShape) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long numel = 1;
        for (long d : globalShape) numel *= d;
        int es = s.dtype().byteSize();
        byte[] buf = new byte[BUF];
        for (long done = 0; done < numel; ) {
            int n = (int) Math.min(numel - done, buf.length / es);
            generate(s, done, n, buf);
            md.update(buf, 0, n * es);
            done += n;
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
