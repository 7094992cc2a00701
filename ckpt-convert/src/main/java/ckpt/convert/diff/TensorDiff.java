package ckpt.convert.diff;

import ckpt.format.tensor.DType;

/**
 * How one tensor differs between A and B.
 *
 * @param name         the shared name both sides were matched by
 * @param nameA        A's own name for it (null when only in B), likewise {@code nameB}
 * @param differing    elements outside the tolerance ({@code |a−b| > atol + rtol·|b|}; NaN equals NaN)
 * @param maxAbsDiff   max {@code |a−b|} over finite pairs (null when not compared numerically)
 * @param maxRelDiff   max {@code |a−b|/|b|} over pairs with {@code b ≠ 0}
 * @param cosine       {@code a·b / (‖a‖‖b‖)} (null when a norm is 0 or values were not compared)
 * @param relativeL2   {@code ‖a−b‖ / ‖b‖}
 * @param firstA       where the first differing element is stored in A (own key and coordinates), likewise {@code firstB}
 */
public record TensorDiff(String name, String nameA, String nameB, Status status, DType dtypeA, DType dtypeB,
                         long[] shapeA, long[] shapeB, long numel, long differing, Double maxAbsDiff, Double maxRelDiff,
                         Double meanAbsDiff, Double cosine, Double normA, Double normB, Double relativeL2,
                         String firstA, String firstB) {
    public enum Status {
        SAME("same"), DIFFERENT("different"), DTYPE_CHANGED("dtype changed"), SHAPE_CHANGED("shape changed"),
        ONLY_IN_A("only in A"), ONLY_IN_B("only in B");

        private final String text;

        Status(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }

        public String jsonName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public boolean same() {
        return status == Status.SAME;
    }

    static TensorDiff onlyA(ViewTensor a) {
        return new TensorDiff(a.name(), a.ownName(), null, Status.ONLY_IN_A, a.tensor().sourceDtype(), null, a.shape(), null,
                a.tensor().numel(), 0, null, null, null, null, null, null, null, null, null);
    }

    static TensorDiff onlyB(ViewTensor b) {
        return new TensorDiff(b.name(), null, b.ownName(), Status.ONLY_IN_B, null, b.tensor().sourceDtype(), null, b.shape(),
                b.tensor().numel(), 0, null, null, null, null, null, null, null, null, null);
    }

    static TensorDiff shapeChanged(ViewTensor a, ViewTensor b) {
        return new TensorDiff(a.name(), a.ownName(), b.ownName(), Status.SHAPE_CHANGED, a.tensor().sourceDtype(),
                b.tensor().sourceDtype(), a.shape(), b.shape(), a.tensor().numel(), 0, null, null, null, null, null, null, null, null, null);
    }
}
