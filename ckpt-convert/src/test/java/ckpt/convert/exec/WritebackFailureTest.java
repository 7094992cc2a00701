package ckpt.convert.exec;

import ckpt.format.Writeback;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Issue #18: a flush that fails, in the background or at the end, fails the conversion in one line and publishes nothing. */
class WritebackFailureTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"PYTORCH, 1", "PYTORCH, 0", "SAFETENSORS, 1", "HUGGINGFACE, 0"})
    void aFailedFlushPublishesNothing(OutputFormat format, long every) throws IOException {
        Path in = Fixtures.path("megatron-llama-tp2/checkpoint");
        Path out = tmp.resolve("out");
        Converter failing = new Converter(new PlanExecutor(PlanExecutor.DEFAULT_PIECE, 2, TensorKernels.CPU),
                () -> new Writeback(every, (ch, metadata) -> {
                    throw new IOException("Input/output error");
                }));
        assertThatThrownBy(() -> failing.convert(ConvertOptions.of(in, format, out), ConversionListener.NONE))
                .isInstanceOfSatisfying(FileSystemException.class, e -> {
                    assertThat(Path.of(e.getFile()).getFileName().toString()).matches("model\\.pt|model-0000\\d-of-0000\\d\\.safetensors");
                    assertThat(e.getMessage()).endsWith(": could not write the output to storage (Input/output error)")
                            .doesNotContain("\n");
                });
        try (var s = Files.list(tmp)) {
            assertThat(s.toList()).as("no output, no staging dir left").isEmpty();
        }
    }
}
