package ckpt.convert.exec;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.plan.DtypeChoice;
import ckpt.format.FormatException;
import ckpt.format.tensor.DType;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * DeepSpeed conversions read back by ckpt's own torch.save and safetensors readers (proven against PyTorch's files
 * elsewhere) and compared with DeepSpeed's {@code zero_to_fp32} state dict in each fixture's reference/tensors.json.
 */
class DeepSpeedConvertTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"deepspeed-zero1-gpt2-fp16", "deepspeed-zero3-llama-dp2"})
    void pytorchOutputIsZeroToFp32sStateDict(String fixture) throws Exception {
        JsonNode ref = Fixtures.json(fixture, "reference", "tensors.json");
        Path out = tmp.resolve("out");
        ConvertResult r = new Converter().convert(ConvertOptions.of(Fixtures.path(fixture), OutputFormat.PYTORCH, out), ConversionListener.NONE);
        assertThat(r.tensors()).isEqualTo(ref.size());
        try (CheckpointIndex pt = Checkpoints.open(out.resolve(Converter.MODEL_PT)); Arena arena = Arena.ofConfined()) {
            assertThat(pt.tensors()).hasSize(ref.size());
            for (String key : Fixtures.fieldNames(ref)) {
                GlobalTensor t = pt.tensor("model_state_dict." + key).orElseThrow();
                assertThat(t.dtype().torchName()).as(key).isEqualTo(ref.get(key).get("dtype").asText());
                assertThat(t.shape()).as(key).isEqualTo(Fixtures.longs(ref.get(key).get("shape")));
                MemorySegment seg = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
                TensorAssembler.assemble(t, seg);
                assertThat(Fixtures.sha256(seg)).as(key).isEqualTo(ref.get(key).get("sha256").asText());
            }
        }
    }

    @Test
    void dtypeCastsTheMasterWeights() throws Exception {
        String fixture = "deepspeed-zero3-llama-dp2";
        Path out = tmp.resolve("bf16");
        new Converter().convert(ConvertOptions.of(Fixtures.path(fixture), OutputFormat.PYTORCH, out).withDtype(DtypeChoice.BF16), ConversionListener.NONE);
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        try (CheckpointIndex src = Checkpoints.open(Fixtures.path(fixture)); CheckpointIndex pt = Checkpoints.open(out.resolve(Converter.MODEL_PT));
             Arena arena = Arena.ofConfined()) {
            for (String key : new String[]{"model.embed_tokens.weight", "model.layers.3.mlp.down_proj.weight", "model.norm.weight"}) {
                GlobalTensor master = src.tensor(key).orElseThrow(), cast = pt.tensor("model_state_dict." + key).orElseThrow();
                assertThat(cast.dtype()).isEqualTo(DType.BFLOAT16);
                MemorySegment a = arena.allocate(master.byteSize()), b = arena.allocate(cast.byteSize());
                TensorAssembler.assemble(master, a);
                TensorAssembler.assemble(cast, b);
                for (long i = 0; i < master.numel(); i++)
                    assertThat(b.getAtIndex(i16, i)).isEqualTo(ElementCast.floatToBf16(a.getAtIndex(f32, i)));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"deepspeed-zero1-gpt2-fp16", "deepspeed-zero3-llama-dp2"})
    void huggingfaceOutputHoldsTheSameWeights(String fixture) throws Exception {
        JsonNode ref = Fixtures.json(fixture, "reference", "tensors.json");
        Path out = tmp.resolve("hf");
        ConvertOptions o = ConvertOptions.of(Fixtures.path(fixture), OutputFormat.HUGGINGFACE, out)
                .withConfigDir(Fixtures.path(fixture, "reference"));
        ConvertResult r = new Converter().convert(o, ConversionListener.NONE);
        boolean gpt2 = fixture.contains("gpt2");
        assertThat(r.architecture()).isEqualTo(gpt2 ? "GPT2LMHeadModel" : "LlamaForCausalLM");
        JsonNode config = Fixtures.json(out.resolve("config.json"));
        assertThat(config.get("architectures").get(0).asText()).isEqualTo(r.architecture());
        assertThat(config.get("vocab_size").asLong()).isEqualTo(256);
        try (CheckpointIndex hf = Checkpoints.open(out); Arena arena = Arena.ofConfined()) {
            // Tied GPT-2: lm_head.weight is left to transformers' tying, as save_pretrained does.
            assertThat(hf.tensors()).hasSize(gpt2 ? ref.size() - 1 : ref.size());
            for (GlobalTensor t : hf.tensors()) {
                JsonNode e = ref.get(t.key());
                assertThat(e).as(t.key()).isNotNull();
                assertThat(t.shape()).as(t.key()).isEqualTo(Fixtures.longs(e.get("shape")));
                MemorySegment seg = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
                TensorAssembler.assemble(t, seg);
                assertThat(Fixtures.sha256(seg)).as(t.key()).isEqualTo(e.get("sha256").asText());
            }
        }
    }

    @Test
    void huggingfaceWithoutConfigSaysWhatIsMissing() {
        Path out = tmp.resolve("hf");
        assertThatThrownBy(() -> new Converter().convert(ConvertOptions.of(Fixtures.path("deepspeed-zero3-llama-dp2"),
                OutputFormat.HUGGINGFACE, out), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("config.json").hasMessageContaining("--config");
        assertThat(Files.exists(out)).isFalse();
    }

    @Test
    void configBesideTheCheckpointIsFound() throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("deepspeed-zero3-llama-dp2"), tmp.resolve("checkpoint-4"));
        Files.copy(save.resolve("reference/config.json"), save.resolve("config.json"));
        Path out = tmp.resolve("hf");
        ConvertResult r = new Converter().convert(ConvertOptions.of(save, OutputFormat.HUGGINGFACE, out), ConversionListener.NONE);
        assertThat(r.architecture()).isEqualTo("LlamaForCausalLM");
        assertThat(Fixtures.json(out.resolve("config.json")).get("torch_dtype").asText()).isEqualTo("float32");
    }

    @Test
    void universalCheckpointConvertsToTheSameWeights() throws Exception {
        String fixture = "deepspeed-zero2-llama-dp2-universal";
        JsonNode ref = Fixtures.json(fixture, "reference", "tensors.json");
        Path out = tmp.resolve("out");
        new Converter().convert(ConvertOptions.of(Fixtures.path(fixture), OutputFormat.PYTORCH, out), ConversionListener.NONE);
        try (CheckpointIndex pt = Checkpoints.open(out.resolve(Converter.MODEL_PT)); Arena arena = Arena.ofConfined()) {
            assertThat(pt.tensors()).hasSize(ref.size());
            for (String key : Fixtures.fieldNames(ref)) {
                GlobalTensor t = pt.tensor("model_state_dict." + key).orElseThrow();
                MemorySegment seg = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
                TensorAssembler.assemble(t, seg);
                assertThat(Fixtures.sha256(seg)).as(key).isEqualTo(ref.get(key).get("fp32.pt").get("sha256").asText());
            }
        }
    }
}
