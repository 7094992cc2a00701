package ckpt.convert.index;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The rows a DCP index reads from chunk columns say what the pieces themselves say. */
class PieceRecordsTest {
    @ParameterizedTest
    @ValueSource(strings = {"megatron-llama-tp2/checkpoint", "megatron-llama-tp2-core014/checkpoint", "dcp-fsdp2/checkpoint",
            "dcp-variety/checkpoint"})
    void columnsAgreeWithThePieces(String fixture) {
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(fixture))) {
            int rows = 0;
            for (GlobalTensor t : index.tensors()) {
                PieceRecords r = t.pieceRecords();
                // read from the columns, not made from each piece
                assertThat(r.getClass().getSimpleName()).isEqualTo("ChunkRecords");
                assertThat(r.size()).isEqualTo(t.pieces().size());
                for (int i = 0; i < r.size(); i++) {
                    TensorPiece p = t.pieces().get(i);
                    assertThat(r.numel(i)).isEqualTo(p.box().numel());
                    assertThat(r.file(i)).isEqualTo(p.source().file());
                    assertThat(r.offset(i)).isEqualTo(p.source().offset());
                    assertThat(r.length(i)).isEqualTo(p.source().length());
                    rows++;
                }
            }
            assertThat(rows).isPositive();
        }
    }

    @Test
    void anyPieceListIsReadPieceByPiece() {
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path("megatron-llama-tp2/checkpoint"))) {
            GlobalTensor t = index.tensors().stream().filter(x -> x.pieces().size() > 1).findFirst().orElseThrow();
            List<TensorPiece> copy = List.copyOf(t.pieces());
            PieceRecords r = PieceRecords.of(copy);
            assertThat(r.size()).isEqualTo(copy.size());
            for (int i = 0; i < r.size(); i++) {
                assertThat(r.numel(i)).isEqualTo(copy.get(i).box().numel());
                assertThat(r.file(i)).isEqualTo(copy.get(i).source().file());
                assertThat(r.offset(i)).isEqualTo(copy.get(i).source().offset());
                assertThat(r.length(i)).isEqualTo(copy.get(i).source().length());
            }
        }
    }

    @Test
    void rowsMustMatchThePieceCount() {
        PieceRecords one = PieceRecords.of(List.of());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new PieceList(3, i -> null, one))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
