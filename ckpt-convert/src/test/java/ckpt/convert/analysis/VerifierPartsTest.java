package ckpt.convert.analysis;

import ckpt.convert.plan.PartSpec;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code verify --deep --part I/N}: the parts of a job array together read exactly what one deep run reads, and a
 * byte flipped anywhere is reported by exactly one part.
 */
class VerifierPartsTest {
    @TempDir
    Path tmp;

    @Test
    void partsTogetherDoTheWholeDeepCheck_onceEach() {
        for (String f : List.of("megatron-llama-tp2/checkpoint", "megatron-llama-tp2-legacy-torch/checkpoint",
                "dcp-fsdp2/checkpoint", "megatron-qwen3-tp2/checkpoint")) {
            Path ckpt = Fixtures.path(f);
            VerifyReport whole = new Verifier(true, null).verify(ckpt);
            assertThat(whole.sound()).as(f).isTrue();
            assertThat(whole.checks().bytesRead()).as(f).isPositive();
            for (int n : new int[]{1, 2, 3, 7}) {
                long crc = 0, chunks = 0, hashed = 0, bytes = 0;
                for (int i = 1; i <= n; i++) {
                    VerifyReport r = new Verifier(true, null, new PartSpec(i, n)).verify(ckpt);
                    assertThat(r.sound()).isTrue();
                    assertThat(r.checks().tensors()).as("fast checks run in every part").isEqualTo(whole.checks().tensors());
                    crc += r.checks().crcEntries();
                    chunks += r.checks().chunksDecoded();
                    hashed += r.checks().filesHashed();
                    bytes += r.checks().bytesRead();
                }
                assertThat(List.of(crc, chunks, hashed, bytes)).as(f + " in " + n + " parts").containsExactly(
                        whole.checks().crcEntries(), whole.checks().chunksDecoded(), (long) whole.checks().filesHashed(),
                        whole.checks().bytesRead());
            }
        }
    }

    @Test
    void aFlippedByteIsReportedByExactlyOnePart() throws Exception {
        Path sd = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("c"));
        Path file = sd.resolve("iter_0000004/__0_0.distcp");
        long size = Files.size(file);
        // a byte inside tensor data: the fast checks stay quiet, only a CRC finds it
        List<Problem> wholeProblems = List.of();
        for (int k = 2; k < 40 && wholeProblems.isEmpty(); k++) {
            long at = size * (k - 1) / k;
            VerifierTest.flip(file, at);
            if (new Verifier(false, null).verify(sd).sound()) wholeProblems = new Verifier(true, null).verify(sd).problems();
            if (wholeProblems.isEmpty()) VerifierTest.flip(file, at); // undo, try elsewhere
        }
        assertThat(wholeProblems).hasSize(1);
        for (int n : new int[]{2, 3, 7}) {
            List<Problem> found = new ArrayList<>();
            int partsReporting = 0;
            for (int i = 1; i <= n; i++) {
                List<Problem> p = new Verifier(true, null, new PartSpec(i, n)).verify(sd).problems();
                if (!p.isEmpty()) partsReporting++;
                found.addAll(p);
            }
            assertThat(partsReporting).isEqualTo(1);
            assertThat(found).isEqualTo(wholeProblems);
        }
    }
}
