package ckpt.convert.index;

import ckpt.convert.assembly.Coverage;
import ckpt.convert.assembly.TensorAssembler;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;

/** A global tensor against its entry in a fixture's {@code tensors.json} (PyTorch's dtype, shape and sha256). */
final class ReferenceCheck {
    private ReferenceCheck() {
    }

    /** dtype and shape as PyTorch wrote them, pieces that tile the tensor, and assembled bytes with PyTorch's digest. */
    static void assertTensorMatches(Arena arena, GlobalTensor t, JsonNode r) {
        assertThat(t).as("tensor for reference entry").isNotNull();
        assertThat(r).as(t.key()).isNotNull();
        assertThat(t.dtype().torchName()).as(t.key()).isEqualTo(r.get("dtype").asText());
        assertThat(t.shape()).as(t.key()).isEqualTo(Fixtures.longs(r.get("shape")));
        assertThat(Coverage.problem(t)).as(t.key()).isEmpty();
        MemorySegment dst = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
        TensorAssembler.assemble(t, dst);
        assertThat(Fixtures.sha256(dst)).as(t.key()).isEqualTo(r.get("sha256").asText());
    }
}
