package ckpt.convert.assembly;

import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.format.tensor.Box;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Checks that a global tensor's pieces tile its shape exactly once — inside bounds, no two overlapping, volumes
 * adding up — the invariant DCP's save planner promises (FORMATS.md §3.6) and every loader relies on. A sweep
 * along axis 0 keeps it near-linear for the thousands of chunks of a large optimizer tensor.
 */
public final class Coverage {
    private Coverage() {
    }

    /** Empty when the pieces tile the tensor; otherwise what is wrong, in one sentence. */
    public static Optional<String> problem(GlobalTensor t) {
        long[] shape = t.shape();
        List<Box> boxes = new ArrayList<>(t.pieces().size());
        for (TensorPiece p : t.pieces()) {
            if (!p.box().fitsIn(shape))
                return Optional.of("piece " + p.box() + " lies outside the shape " + Arrays.toString(shape));
            if (p.box().numel() > 0) boxes.add(p.box());
        }
        long numel = t.numel();
        if (shape.length == 0) {
            return boxes.size() == 1 ? Optional.empty()
                    : Optional.of(boxes.isEmpty() ? "no piece holds the scalar" : boxes.size() + " pieces hold the same scalar");
        }
        long volume = 0;
        for (Box b : boxes) volume = Math.addExact(volume, b.numel());
        boxes.sort(Comparator.comparingLong((Box b) -> b.offset(0)));
        for (int i = 0; i < boxes.size(); i++) {
            Box a = boxes.get(i);
            for (int j = i + 1; j < boxes.size() && boxes.get(j).offset(0) < a.end(0); j++) {
                Box b = boxes.get(j);
                if (a.intersect(b) != null) return Optional.of("pieces " + a + " and " + b + " overlap");
            }
        }
        if (volume < numel)
            return Optional.of("pieces cover " + volume + " of " + numel + " elements: part of the tensor is in no chunk");
        if (volume > numel) return Optional.of("pieces cover " + volume + " elements of a tensor of " + numel);
        return Optional.empty();
    }
}
