package ckpt.convert.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Tokenizer and generation files that belong next to an HF model (MAPPING.md §5): copied from {@code --tokenizer
 * DIR}, else the iteration's {@code tokenizer/} dir (Megatron ≥ Aug 2026), else {@code args.tokenizer_model} when
 * it is a local directory. Never weights, indexes or {@code config.json}.
 */
final class TokenizerFiles {
    private TokenizerFiles() {
    }

    static boolean isTokenizerFile(String n) {
        return n.startsWith("tokenizer") || n.equals("special_tokens_map.json") || n.equals("vocab.json")
                || n.equals("vocab.txt") || n.equals("merges.txt") || n.equals("added_tokens.json")
                || n.equals("generation_config.json") || n.startsWith("chat_template") || n.endsWith(".tiktoken")
                || n.equals("spiece.model") || n.equals("sentencepiece.bpe.model");
    }

    /** The first candidate dir holding tokenizer files. */
    static Optional<Path> source(Path explicit, Path checkpointDir, Object tokenizerModelArg) throws IOException {
        if (explicit != null) {
            if (!Files.isDirectory(explicit)) throw new java.nio.file.NotDirectoryException(explicit.toString());
            if (list(explicit).isEmpty()) throw new IOException(explicit + ": no tokenizer files (tokenizer*, vocab.json, merges.txt, …) in --tokenizer dir");
            return Optional.of(explicit);
        }
        List<Path> candidates = new ArrayList<>();
        candidates.add(checkpointDir.resolve("tokenizer"));
        if (tokenizerModelArg instanceof String s && !s.isBlank()) {
            try {
                candidates.add(Path.of(s));
            } catch (java.nio.file.InvalidPathException ignored) {
                // an HF hub id, not a path
            }
        }
        for (Path c : candidates) if (Files.isDirectory(c) && !list(c).isEmpty()) return Optional.of(c);
        return Optional.empty();
    }

    static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Files.isRegularFile(p) && isTokenizerFile(p.getFileName().toString())).sorted().toList();
        }
    }

    /** Copies the files; returns their names. */
    static List<String> copy(Path from, Path to) throws IOException {
        List<String> names = new ArrayList<>();
        for (Path p : list(from)) {
            Files.copy(p, to.resolve(p.getFileName()), LinkOption.NOFOLLOW_LINKS);
            names.add(p.getFileName().toString());
        }
        return names;
    }

    /** bos/eos/pad token ids from an HF model dir's config.json, when the tokenizer source is one. */
    static Map<String, Object> tokenIds(Path from) {
        Map<String, Object> ids = new LinkedHashMap<>();
        Path cfg = from.resolve("config.json");
        if (!Files.isRegularFile(cfg)) return ids;
        try {
            if (Files.size(cfg) > (1 << 20)) return ids;
            JsonNode n = new ObjectMapper().readTree(cfg.toFile());
            for (String k : List.of("bos_token_id", "eos_token_id", "pad_token_id")) {
                JsonNode v = n.get(k);
                if (v != null && v.isIntegralNumber()) ids.put(k, v.asLong());
                else if (v != null && v.isArray()) {
                    List<Long> l = new ArrayList<>();
                    v.forEach(x -> l.add(x.asLong()));
                    ids.put(k, l);
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return ids;
    }
}
