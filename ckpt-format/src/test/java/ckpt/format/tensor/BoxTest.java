package ckpt.format.tensor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class BoxTest {
    @Test
    void intersectsAndFits() {
        Box a = new Box(new long[]{0, 4}, new long[]{8, 4});
        Box b = new Box(new long[]{6, 0}, new long[]{4, 6});
        assertThat(a.intersect(b)).isEqualTo(new Box(new long[]{6, 4}, new long[]{2, 2}));
        assertThat(a.fitsIn(new long[]{8, 8})).isTrue();
        assertThat(a.fitsIn(new long[]{8, 7})).isFalse();
        assertThat(new Box(new long[]{0}, new long[]{2}).intersect(new Box(new long[]{2}, new long[]{2}))).isNull();
        assertThat(Box.whole(new long[]{}).numel()).isEqualTo(1);
    }

    @Test
    void dtypeNames() {
        assertThat(DType.fromTorchName("torch.bfloat16")).contains(DType.BFLOAT16);
        assertThat(DType.fromSafetensorsName("F8_E4M3")).contains(DType.FLOAT8_E4M3FN);
        assertThat(DType.fromStorageClass("HalfStorage")).contains(DType.FLOAT16);
        assertThat(DType.fromTorchName("torch.qint8")).isEmpty();
    }
}
