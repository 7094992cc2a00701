package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.safetensors.SafetensorsEntry;
import ckpt.format.safetensors.SafetensorsFile;
import ckpt.format.safetensors.ShardedSafetensors;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.StridedView;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Builds a {@link CheckpointIndex} over safetensors: one file, a Hugging Face directory (index + shards, or a single
 * {@code model.safetensors}), or a directory of unindexed {@code *.safetensors} files. One {@link GlobalTensor} per
 * entry, with one piece whose source is the entry's bytes.
 *
 * <p>{@code details}: {@code missing_tensors} (index entries no shard holds — kept for {@code verify}, never a crash),
 * {@code unindexed_tensors} (shard entries the index does not list; loaders ignore them, so they are not listed as
 * tensors), {@code index_metadata}, {@code header_metadata} (each shard's {@code __metadata__}), and {@code config}
 * (the directory's {@code config.json} as plain values; {@code config_error} if it cannot be read).
 */
public final class SafetensorsIndexer {
    static final String CONFIG_FILE = "config.json";
    /** Real config.json files are a few KB; a huge one is not a model config. */
    static final long MAX_CONFIG_BYTES = 16L << 20;

    private SafetensorsIndexer() {
    }

    /** A located entry: the shard holding it and its name relative to the checkpoint path. */
    private record Located(SafetensorsFile file, String fileName, SafetensorsEntry entry) {
    }

    public static CheckpointIndex open(Path path) {
        if (!Files.isDirectory(path)) {
            SafetensorsFile f = SafetensorsFile.open(path);
            try {
                String name = path.getFileName().toString();
                List<Located> located = new ArrayList<>();
                for (SafetensorsEntry e : f.header().entries()) located.add(new Located(f, name, e));
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("shards", 1);
                if (!f.header().metadata().isEmpty()) details.put("header_metadata", Map.of(name, f.header().metadata()));
                return index(path, "safetensors file", located, details, files(List.of(path), Set.of(name)), f);
            } catch (RuntimeException e) {
                f.close();
                throw e;
            }
        }
        if (Files.isRegularFile(path.resolve(ShardedSafetensors.INDEX_FILE))
                || Files.isRegularFile(path.resolve(ShardedSafetensors.SINGLE_FILE)))
            return sharded(path);
        return unindexed(path);
    }

    private static CheckpointIndex sharded(Path dir) {
        ShardedSafetensors st = ShardedSafetensors.open(dir);
        try {
            List<Located> located = new ArrayList<>();
            Set<String> referenced = new LinkedHashSet<>();
            st.weightMap().forEach((name, shard) -> {
                referenced.add(shard.getFileName().toString());
                st.find(name).ifPresent(t -> located.add(new Located(t.file(), shard.getFileName().toString(), t.entry())));
            });
            st.indexFile().ifPresent(p -> referenced.add(p.getFileName().toString()));
            List<String> unindexed = new ArrayList<>();
            for (SafetensorsFile f : st.shards())
                for (SafetensorsEntry e : f.header().entries())
                    if (!st.weightMap().containsKey(e.name())) unindexed.add(e.name());
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("shards", st.shards().size());
            details.put("missing_tensors", st.missing());
            if (!unindexed.isEmpty()) details.put("unindexed_tensors", unindexed);
            if (!st.indexMetadata().isEmpty()) details.put("index_metadata", st.indexMetadata());
            headerMetadata(st.shards(), details);
            config(dir, details);
            String era = st.indexFile().isPresent() ? "Hugging Face safetensors (index, " + st.shards().size() + " shard"
                    + (st.shards().size() == 1 ? ")" : "s)") : "Hugging Face safetensors (single model.safetensors)";
            return index(dir, era, located, details, files(list(dir), referenced), st);
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    private static CheckpointIndex unindexed(Path dir) {
        List<Path> all = list(dir);
        List<SafetensorsFile> opened = new ArrayList<>();
        AutoCloseable closeAll = new OpenedFiles(opened);
        try {
            List<Located> located = new ArrayList<>();
            Map<String, String> owner = new LinkedHashMap<>();
            Set<String> referenced = new LinkedHashSet<>();
            for (Path p : all) {
                String name = p.getFileName().toString();
                if (!name.endsWith(".safetensors")) continue;
                SafetensorsFile f = SafetensorsFile.open(p);
                opened.add(f);
                referenced.add(name);
                for (SafetensorsEntry e : f.header().entries()) {
                    String before = owner.putIfAbsent(e.name(), name);
                    if (before != null)
                        throw new FormatException(dir, "tensor " + e.name() + " is in both " + before + " and " + name
                                + " and there is no " + ShardedSafetensors.INDEX_FILE + " to say which one counts");
                    located.add(new Located(f, name, e));
                }
            }
            if (opened.isEmpty()) throw new FormatException(dir, "no .safetensors file in this directory");
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("shards", opened.size());
            details.put("missing_tensors", List.of());
            headerMetadata(opened, details);
            config(dir, details);
            return index(dir, "safetensors files (no index)", located, details, files(all, referenced), closeAll);
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static CheckpointIndex index(Path path, String era, List<Located> located, Map<String, Object> details,
                                         List<FileEntry> files, AutoCloseable resources) {
        List<GlobalTensor> tensors = new ArrayList<>(located.size());
        for (Located l : located) {
            SafetensorsEntry e = l.entry();
            TensorPiece piece = new TensorPiece(Box.whole(e.shape()), new EntrySource(l.file(), l.fileName(), e));
            tensors.add(new GlobalTensor(e.name(), e.dtype(), e.shape(), DcpKeys.classify(e.name(), null, true), List.of(piece)));
        }
        return new CheckpointIndex(path, CheckpointFormat.SAFETENSORS, era, null, null, null, Map.of(), tensors, List.of(),
                files, details, resources);
    }

    private static void headerMetadata(List<SafetensorsFile> shards, Map<String, Object> details) {
        Map<String, Object> md = new LinkedHashMap<>();
        for (SafetensorsFile f : shards)
            if (!f.header().metadata().isEmpty()) md.put(f.path().getFileName().toString(), f.header().metadata());
        if (!md.isEmpty()) details.put("header_metadata", md);
    }

    /** config.json as plain values; a broken one is reported, not fatal: the weights are still readable. */
    private static void config(Path dir, Map<String, Object> details) {
        Path cfg = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(cfg)) return;
        try {
            long size = Files.size(cfg);
            if (size > MAX_CONFIG_BYTES) {
                details.put("config_error", CONFIG_FILE + " is " + size + " bytes, larger than " + MAX_CONFIG_BYTES);
                return;
            }
            Map<String, Object> m = new ObjectMapper().readValue(cfg.toFile(), new TypeReference<LinkedHashMap<String, Object>>() {
            });
            details.put("config", m);
        } catch (JsonProcessingException e) {
            details.put("config_error", CONFIG_FILE + " is not a JSON object: " + ckpt.format.JsonErrors.describe(e));
        } catch (IOException e) {
            details.put("config_error", "cannot read " + CONFIG_FILE + ": " + ckpt.format.JsonErrors.describe(e));
        }
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<FileEntry> files(List<Path> present, Set<String> referenced) {
        Map<String, FileEntry> out = new TreeMap<>();
        try {
            for (Path p : present) {
                String n = p.getFileName().toString();
                out.put(n, new FileEntry(n, Files.size(p), true, referenced.contains(n)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return List.copyOf(out.values());
    }

    /** The files of an unindexed dir, closed and unmapped together. */
    private record OpenedFiles(List<SafetensorsFile> files) implements AutoCloseable, ckpt.format.MappedSource {
        @Override
        public void releaseMappings() {
            files.forEach(SafetensorsFile::releaseMappings);
        }

        @Override
        public void close() {
            files.forEach(SafetensorsFile::close);
        }
    }

    /** One safetensors entry: contiguous row-major bytes at {@code dataStart + begin}. */
    record EntrySource(SafetensorsFile shard, String file, SafetensorsEntry entry) implements PieceSource {
        @Override
        public long offset() {
            return shard.header().dataStart() + entry.begin();
        }

        @Override
        public long length() {
            return entry.byteLength();
        }

        @Override
        public StridedView open() {
            return StridedView.contiguous(shard.data(entry), entry.dtype(), entry.shape());
        }
    }
}
