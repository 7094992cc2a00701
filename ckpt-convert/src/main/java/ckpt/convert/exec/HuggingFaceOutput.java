package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code --format huggingface}: the safetensors shards and index ({@link SafetensorsTarget}), then {@code config.json}
 * and the tokenizer files, whose token ids also go into the config.
 */
final class HuggingFaceOutput implements PartWriter {
    /** config.json without token ids, and where tokenizer files come from (if anywhere). */
    record Extras(Map<String, Object> config, Optional<Path> tokenizer) {
    }

    private final Path dir;
    private final SafetensorsTarget weights;
    private final Extras extras;

    HuggingFaceOutput(Path dir, ConversionPlan plan, long maxShardSize, Extras extras) throws IOException {
        this(dir, plan, maxShardSize, extras, Share.WHOLE, ckpt.format.Writeback.configured());
    }

    HuggingFaceOutput(Path dir, ConversionPlan plan, long maxShardSize, Extras extras, Share share,
                      ckpt.format.Writeback writeback) throws IOException {
        this.dir = dir;
        this.weights = new SafetensorsTarget(dir, plan, maxShardSize, share, writeback);
        this.extras = extras;
    }

    @Override
    public void write(OutputTensor t, long from, MemorySegment bytes) throws IOException {
        weights.write(t, from, bytes);
    }

    @Override
    public boolean needsCrc32() {
        return weights.needsCrc32();
    }

    @Override
    public void complete(OutputTensor t, long crc32) throws IOException {
        weights.complete(t, crc32);
    }

    @Override
    public List<PartRegion> completePart() throws IOException {
        return weights.completePart();
    }

    @Override
    public void acceptParts(List<PartRegion> regions) {
        weights.acceptParts(regions);
    }

    @Override
    public List<String> finish() throws IOException {
        List<String> files = new ArrayList<>(weights.finish());
        Extras e = extras;
        Map<String, Object> config = e.config();
        if (e.tokenizer().isPresent()) {
            files.addAll(TokenizerFiles.copy(e.tokenizer().get(), dir));
            config.putAll(TokenizerFiles.tokenIds(e.tokenizer().get()));
        }
        Converter.writeJson(dir.resolve("config.json"), config);
        files.add("config.json");
        return files;
    }

    @Override
    public void close() throws IOException {
        weights.close();
    }
}
