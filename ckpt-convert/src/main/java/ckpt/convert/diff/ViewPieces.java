package ckpt.convert.diff;

import ckpt.convert.plan.CopyItem;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;

import java.util.ArrayList;
import java.util.List;

/**
 * A view tensor as the diff reads it: row blocks of the <em>logical</em> tensor (its copy items' sources concatenated
 * along axis 0), transposed at the end for HF Conv1D views. The plan's {@link CopyItem}s carry this as destination
 * boxes; here each becomes the logical rows it fills.
 */
final class ViewPieces {
    private ViewPieces() {
    }

    /** One source slice filling logical rows {@code [dstRow, dstRow + rows)}. */
    record Piece(TensorSlice slice, long dstRow, long rows) {
    }

    static boolean transposed(OutputTensor t) {
        for (CopyItem it : t.items()) if (it.transpose()) return true;
        return false;
    }

    /** Rows of the logical (untransposed) tensor. */
    static long logicalRows(OutputTensor t) {
        long[] s = t.shape();
        if (s.length == 0) return 1;
        return transposed(t) ? s[1] : s[0];
    }

    static List<Piece> pieces(OutputTensor t) {
        List<Piece> out = new ArrayList<>();
        for (CopyItem it : t.items()) {
            if (it.isZeroFill()) continue; // views are built from stored slices only; zero rows have no source
            TensorSlice s = it.source();
            long row = s.rank() == 0 ? 0 : it.destination().offset(it.transpose() ? 1 : 0);
            out.add(new Piece(s, row, s.rank() == 0 ? 1 : s.dim(0)));
        }
        return out;
    }
}
