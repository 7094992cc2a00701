package ckpt.format.dcp;

import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Reads a small generated {@code .metadata} a few times before the first large one, so that the optimizing
 * compiler's first compile of the pickle reader's opcode loop has seen every record kind. A large file holds its
 * chunk records first and its storage records from about a third on; compiled from a profile of chunks only, that
 * code was thrown away at the first storage record, and the parse ran in slower code until a second compile
 * finished. The primer is laid out as torch lays out a {@code .metadata} (chunk and storage records, ranks 1–3, memo
 * indices past 255, offsets past 2^16, 2^24 and 2^31) and read from a mapped file, as the real one is, so the
 * compiled code fits both (docs/BENCHMARKS.md, "JIT"). It changes no result: it reads into its own columns and is
 * thrown away; any failure only skips it.
 */
final class ParsePriming {
    /** Below this a parse ends before the optimizing compiler would pay back (the launchers' rule, 64 MiB). */
    static final long MIN_SIZE = 64L << 20;
    /**
     * Tensors in the primer (627 chunks, 88 KB) and reads of it: the loop's profile must cover both record kinds
     * before the optimizing compiler takes it (~20 k opcodes into its quick-compiled code). ~130 ms in all, most of
     * it first-time class loading and linking the large parse would do anyway.
     */
    static final int TENSORS = 48;
    static final int READS = 4;

    private static final AtomicBoolean DONE = new AtomicBoolean();

    private ParsePriming() {
    }

    /** Primes once per process, before the first parse of a {@code .metadata} of {@code size} ≥ {@link #MIN_SIZE}. */
    static void before(long size) {
        if (size >= MIN_SIZE && DONE.compareAndSet(false, true)) primeOnOwnThread();
    }

    /**
     * {@link #prime} on a thread of its own, waited for: the primer's reads must not reach a {@code PickleAudit}
     * (thread-confined) the caller may have open.
     */
    static boolean primeOnOwnThread() {
        boolean[] done = new boolean[1];
        Thread t = new Thread(() -> done[0] = prime(), "ckpt-parse-priming");
        t.setDaemon(true);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return done[0];
    }

    /** Reads the primer {@link #READS} times; false when it could not (nothing else happens then). */
    static boolean prime() {
        Path tmp = null;
        try (InputStream in = ParsePriming.class.getResourceAsStream(RESOURCE)) {
            if (in == null) return false;
            byte[] primer = in.readAllBytes();
            // a mapped file, as the real one is: a heap or plain native segment would leave the compiled code a
            // second segment class to check at every read
            Path file = Path.of(System.getProperty("java.io.tmpdir"), TEMP_PREFIX + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".metadata");
            Files.write(file, primer, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            tmp = file; // ours to delete only once made
            try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(tmp)) {
                MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                for (int i = 0; i < READS; i++) DcpMetadataReader.readMapped(tmp, seg);
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false; // only speed is lost
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temp file left behind
                }
            }
        }
    }

    /** The primer's bytes: {@link #primer}({@link #TENSORS}) as written by {@link DcpMetadataWriter}, kept in the jar
     * because writing it at run time cost more than reading it (~60 ms before the writer's code is compiled). */
    static final String RESOURCE = "primer.metadata";
    /** The primer's copy in the temp dir: this prefix, the process id, a clock reading; deleted after the reads. */
    static final String TEMP_PREFIX = "ckpt-prime-";

    /**
     * {@code tensors} tensors of rank 1, 2 and 3 in turn, split into 4–24 chunks each, every chunk stored in one of
     * 64 rank files at growing offsets, plus bytes items: the shapes of a large Megatron save.
     */
    static DcpMetadataWriter primer(int tensors) {
        DcpMetadataWriter w = new DcpMetadataWriter().storageMeta("/prime", "prime");
        long[] fileEnd = new long[64];
        fileEnd[1] = (1L << 31) - 1000; // one file already past 2 GiB: 64-bit offsets
        for (int i = 0; i < 8; i++) {
            String key = "common_state/shard_" + i;
            w.addBytes(key);
            w.addStorage(key, null, new StorageInfo("__" + i + "_0.distcp", i * 1197L, 1197, List.of()));
        }
        int chunkNo = 0;
        for (int t = 0; t < tensors; t++) {
            int rank = 1 + t % 3;
            int parts = 4 + t % 21;
            long rows = parts * (1L + t % 7) * (t % 5 == 0 ? 40_000 : 3);
            long[] shape = switch (rank) {
                case 1 -> new long[] {rows * 257};
                case 2 -> new long[] {rows, 129 + t};
                default -> new long[] {2, rows, 65};
            };
            String fqn = "decoder.layers." + t + (rank == 1 ? ".optimizer.state.exp_avg" : ".self_attention.weight");
            int axis = rank == 3 ? 1 : 0;
            long step = shape[axis] / parts;
            for (int p = 0; p < parts; p++) {
                long[] off = new long[rank];
                long[] len = shape.clone();
                off[axis] = p * step;
                len[axis] = p == parts - 1 ? shape[axis] - off[axis] : step;
                Box box = new Box(off, len);
                w.addChunk(fqn, rank == 1 ? DType.FLOAT32 : DType.BFLOAT16, shape, box);
                int file = chunkNo++ % fileEnd.length;
                long bytes = box.numel() * (rank == 1 ? 4 : 2);
                w.addStorage(fqn, off, new StorageInfo("__" + file + "_0.distcp", fileEnd[file], bytes, List.of()));
                fileEnd[file] += bytes;
            }
        }
        return w;
    }
}
