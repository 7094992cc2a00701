package ckpt.convert.mapping;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Layer numbers of Megatron tensor keys: a key that is not decoder.layers.N[.…] with N a long is no layer (was a crash). */
class MegatronLayerNumberTest {
    @Test
    void layerNumbers() {
        assertThat(MegatronModuleNames.layerNumber("decoder.layers.3.mlp.linear_fc1.weight")).isEqualTo(3);
        assertThat(MegatronModuleNames.layerNumber("decoder.layers.12")).isEqualTo(12);
        assertThat(MegatronModuleNames.layerNumber("decoder.layers.")).isEqualTo(-1);
        assertThat(MegatronModuleNames.layerNumber("decoder.layers.99999999999999999999.x")).isEqualTo(-1);
        assertThat(MegatronModuleNames.layerNumber("decoder.layers.7abc.x")).isEqualTo(-1);
        assertThat(MegatronModuleNames.layerNumber("decoder.layers.4\n.x")).isEqualTo(-1);
    }
}
