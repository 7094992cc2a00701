package ckpt.convert.exec;

import ckpt.convert.plan.DtypeChoice;
import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Parallel output equals sequential output, byte for byte, for every fixture, format and a casting dtype: one
 * worker with whole tensors as pieces vs eight workers with 1 KiB pieces (every tensor cut into many parts, rows cut
 * in the middle, CRCs combined from parts). Inputs a format refuses are refused the same way by both.
 */
class ParallelConvertTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> cases() throws IOException {
        List<Path> inputs = new ArrayList<>();
        try (Stream<Path> s = Files.list(Fixtures.root())) {
            for (Path f : s.sorted().toList()) {
                Path c = f.resolve("checkpoint");
                if (Files.isDirectory(c)) inputs.add(c);
                Path files = f.resolve("files");
                if (Files.isDirectory(files)) try (Stream<Path> pt = Files.list(files)) {
                    pt.sorted().forEach(inputs::add);
                }
            }
        }
        List<Arguments> out = new ArrayList<>();
        for (Path in : inputs)
            for (OutputFormat f : OutputFormat.values()) {
                if (f == OutputFormat.MEGATRON) continue; // reads HF model dirs: see megatronOutputFromHuggingFace
                for (DtypeChoice d : List.of(DtypeChoice.KEEP, DtypeChoice.BF16))
                    if (d == DtypeChoice.KEEP || f != OutputFormat.SAFETENSORS) // safetensors casts as pytorch does
                        out.add(Arguments.of(Fixtures.root().relativize(in).toString(), f, d));
            }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void eightWorkersWriteTheSameBytesAsOne(String fixture, OutputFormat format, DtypeChoice dtype) throws IOException {
        compare(Fixtures.root().resolve(fixture), format, dtype);
    }

    /** The Megatron writer (DCP rank files laid out up front): chunk archives filled in place by all workers. */
    @Test
    void megatronOutputFromHuggingFace() throws IOException {
        Path hf = tmp.resolve("hf");
        new Converter().convert(ConvertOptions.of(Fixtures.path("megatron-llama-tp2/checkpoint"), OutputFormat.HUGGINGFACE, hf),
                ConversionListener.NONE);
        compare(hf, OutputFormat.MEGATRON, DtypeChoice.KEEP);
        Fixtures.deleteTree(tmp.resolve("seq"));
        Fixtures.deleteTree(tmp.resolve("par"));
        compare(hf, OutputFormat.MEGATRON, DtypeChoice.FP32);
    }

    private void compare(Path in, OutputFormat format, DtypeChoice dtype) throws IOException {
        ConvertOptions seq = ConvertOptions.of(in, format, tmp.resolve("seq")).withDtype(dtype);
        ConvertOptions par = ConvertOptions.of(in, format, tmp.resolve("par")).withDtype(dtype);
        Converter one = new Converter(new PlanExecutor(1L << 30, 1, TensorKernels.CPU));
        Converter eight = new Converter(new PlanExecutor(1024, 8, TensorKernels.CPU));
        String refused;
        try {
            one.convert(seq, ConversionListener.NONE);
            refused = null;
        } catch (FormatException e) {
            refused = e.getMessage();
        }
        if (refused != null) {
            assertThatThrownBy(() -> eight.convert(par, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                    .hasMessage(refused);
            assertThat(tmp.resolve("par")).doesNotExist();
            return;
        }
        eight.convert(par, ConversionListener.NONE);
        List<String> names = files(tmp.resolve("seq"));
        assertThat(names).isNotEmpty().isEqualTo(files(tmp.resolve("par")));
        for (String n : names)
            // a Megatron save's .metadata names its own output directory (seq/ or par/ here); its records point
            // into the .distcp files compared here.
            if (!n.endsWith(".metadata")) assertThat(Files.readAllBytes(tmp.resolve("par").resolve(n))).as(n)
                    .isEqualTo(Files.readAllBytes(tmp.resolve("seq").resolve(n)));
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }
}
