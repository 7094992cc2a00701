package ckpt.format.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face safetensors directory: {@code model.safetensors.index.json} plus the shards it names, or a single
 * {@code model.safetensors}. Every shard named by the index is opened (mapped) and validated up front. Index entries
 * whose shard lacks the tensor are reported by {@link #missing()} rather than rejected at open, because real writers
 * produce such indexes (DCP's {@code HuggingFaceStorageWriter} with several ranks and no shard mapping).
 */
public final class ShardedSafetensors implements AutoCloseable, ckpt.format.MappedSource {
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String SINGLE_FILE = "model.safetensors";
    /** Index files of the largest public models are a few MB; anything far beyond is not an index. */
    static final long MAX_INDEX_BYTES = 256L << 20;

    private final Path dir;
    private final Path indexFile;
    private final Map<String, Path> weightMap;
    private final Map<String, Object> indexMetadata;
    private final Map<Path, SafetensorsFile> shards;

    private ShardedSafetensors(Path dir, Path indexFile, Map<String, Path> weightMap, Map<String, Object> metadata,
                               Map<Path, SafetensorsFile> shards) {
        this.dir = dir;
        this.indexFile = indexFile;
        this.weightMap = Collections.unmodifiableMap(weightMap);
        this.indexMetadata = Collections.unmodifiableMap(metadata);
        this.shards = Collections.unmodifiableMap(shards);
    }

    /** A tensor located in one shard. */
    public record Tensor(SafetensorsFile file, SafetensorsEntry entry) {
        public MemorySegment data() {
            return file.data(entry);
        }
    }

    public static ShardedSafetensors open(Path dir) {
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) return openIndexed(dir, index);
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single);
            Map<String, Path> wm = new LinkedHashMap<>();
            for (SafetensorsEntry e : f.header().entries()) wm.put(e.name(), single);
            Map<Path, SafetensorsFile> shards = new LinkedHashMap<>();
            shards.put(single, f);
            return new ShardedSafetensors(dir, null, wm, new LinkedHashMap<>(), shards);
        }
        throw new SafetensorsException(dir, null, "neither " + INDEX_FILE + " nor " + SINGLE_FILE + " found");
    }

    private static ShardedSafetensors openIndexed(Path dir, Path index) {
        JsonNode root = readIndex(index);
        if (!root.isObject()) throw new SafetensorsException(index, null, "index is not a JSON object");
        JsonNode wmNode = root.get("weight_map");
        if (wmNode == null || !wmNode.isObject()) {
            throw new SafetensorsException(index, null, "index has no \"weight_map\" object");
        }
        JsonNode metaNode = root.get("metadata");
        Map<String, Object> metadata = new LinkedHashMap<>();
        if (metaNode != null && !metaNode.isNull()) {
            if (!metaNode.isObject()) throw new SafetensorsException(index, null, "index \"metadata\" is not an object");
            metaNode.properties().forEach(e -> metadata.put(e.getKey(), plain(e.getValue())));
        }
        Map<String, Path> weightMap = new LinkedHashMap<>();
        Map<Path, SafetensorsFile> shards = new LinkedHashMap<>();
        try {
            for (var e : wmNode.properties()) {
                String name = e.getKey();
                JsonNode v = e.getValue();
                if (!v.isTextual()) {
                    throw new SafetensorsException(index, "weight_map " + SafetensorsException.quote(name), "shard file name is not a string");
                }
                Path shard = shardPath(dir, index, name, v.asText());
                weightMap.put(name, shard);
                if (!shards.containsKey(shard)) {
                    if (!Files.isRegularFile(shard)) {
                        throw new SafetensorsException(index, "weight_map " + SafetensorsException.quote(name),
                                "shard file " + SafetensorsException.quote(v.asText()) + " does not exist");
                    }
                    shards.put(shard, SafetensorsFile.open(shard));
                }
            }
        } catch (RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new ShardedSafetensors(dir, index, weightMap, metadata, shards);
    }

    private static JsonNode readIndex(Path index) {
        try {
            long size = Files.size(index);
            if (size > MAX_INDEX_BYTES) {
                throw new SafetensorsException(index, null, "index of " + size + " bytes is larger than "
                        + MAX_INDEX_BYTES + " bytes");
            }
            try (InputStream in = Files.newInputStream(index); JsonParser p = JsonLimits.parser(in, size, 64)) {
                JsonNode root = new ObjectMapper().readTree(p);
                if (root == null) throw new SafetensorsException(index, null, "index is empty");
                if (p.nextToken() != null) throw new SafetensorsException(index, null, "content after the index object");
                return root;
            }
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(index, null, "index is not valid UTF-8");
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(index, null, "index is not valid JSON: " + JsonLimits.oneLine(e), e);
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(index, null, "index disappeared while reading", e);
        } catch (IOException e) {
            throw new SafetensorsException(index, null, "cannot read index: " + e.getMessage(), e);
        }
    }

    /** A shard is a plain file name inside the directory; anything that could reach elsewhere is refused. */
    private static Path shardPath(Path dir, Path index, String tensor, String fileName) {
        if (fileName.isEmpty() || fileName.equals(".") || fileName.equals("..") || fileName.indexOf('/') >= 0
                || fileName.indexOf('\\') >= 0 || fileName.indexOf('\0') >= 0) {
            throw new SafetensorsException(index, "weight_map " + SafetensorsException.quote(tensor),
                    "shard file name " + SafetensorsException.quote(fileName) + " is not a plain file name");
        }
        return dir.resolve(fileName);
    }

    private static Object plain(JsonNode n) {
        if (n.isTextual()) return n.asText();
        if (n.isBoolean()) return n.asBoolean();
        if (n.isIntegralNumber()) return n.canConvertToLong() ? (Object) n.asLong() : n.bigIntegerValue();
        if (n.isNumber()) return n.decimalValue();
        if (n.isNull()) return null;
        if (n.isArray()) {
            List<Object> l = new ArrayList<>();
            n.forEach(x -> l.add(plain(x)));
            return Collections.unmodifiableList(l);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        n.properties().forEach(e -> m.put(e.getKey(), plain(e.getValue())));
        return Collections.unmodifiableMap(m);
    }

    public Path directory() {
        return dir;
    }

    /** The index file, empty for a single {@code model.safetensors}. */
    public Optional<Path> indexFile() {
        return Optional.ofNullable(indexFile);
    }

    /** Tensor name → shard path, in index order (buffer order for a single file). */
    public Map<String, Path> weightMap() {
        return weightMap;
    }

    /** The index's {@code metadata} object as plain Java values ({@code total_size} is a Long); empty without index. */
    public Map<String, Object> indexMetadata() {
        return indexMetadata;
    }

    /** Opened shards, in order of first mention in the index. */
    public List<SafetensorsFile> shards() {
        return List.copyOf(shards.values());
    }

    /** The tensor when the index lists it and its shard holds it. */
    public Optional<Tensor> find(String name) {
        Path shard = weightMap.get(name);
        if (shard == null) return Optional.empty();
        SafetensorsFile f = shards.get(shard);
        return f.header().entry(name).map(e -> new Tensor(f, e));
    }

    public Tensor tensor(String name) {
        Path shard = weightMap.get(name);
        if (shard == null) {
            throw new SafetensorsException(indexFile != null ? indexFile : dir, "tensor " + SafetensorsException.quote(name),
                    "not in the weight map");
        }
        return find(name).orElseThrow(() -> SafetensorsException.forTensor(shard, name,
                "listed in " + INDEX_FILE + " but absent from this shard"));
    }

    /** Names the index lists whose shard does not hold them, in index order. */
    public List<String> missing() {
        List<String> out = new ArrayList<>();
        weightMap.forEach((name, shard) -> {
            if (shards.get(shard).header().entry(name).isEmpty()) out.add(name);
        });
        return out;
    }

    @Override
    public void releaseMappings() {
        shards.values().forEach(SafetensorsFile::releaseMappings);
    }

    @Override
    public void close() {
        shards.values().forEach(SafetensorsFile::close);
    }
}
