package ckpt.format.megatron.legacy;

import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronArgs;
import ckpt.format.pickle.PyDict;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArgsAgreementTest {
    private static MegatronArgs args(long hidden, long rank, Object ffn) {
        PyDict d = new PyDict();
        d.put("num_layers", 4L);
        d.put("hidden_size", hidden);
        d.put("rank", rank);
        d.put("normalization", "RMSNorm");
        if (ffn != null) d.put("ffn_hidden_size", ffn);
        return new MegatronArgs(d);
    }

    @Test
    void rankSpecificArgsMayDiffer() {
        assertThatCode(() -> ArgsAgreement.check(Path.of("iter"), "mp_rank_00", args(64, 0, 192L), "mp_rank_01", args(64, 1, 192L)))
                .doesNotThrowAnyException();
    }

    @Test
    void architectureDisagreementNamesBothRanksTheFieldAndValues() {
        assertThatThrownBy(() -> ArgsAgreement.check(Path.of("iter"), "mp_rank_00", args(64, 0, 192L), "mp_rank_01_001", args(128, 1, 192L)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("mp_rank_00 and mp_rank_01_001 disagree on args.hidden_size (64 vs 128)");
    }

    @Test
    void aFieldPresentOnOneRankOnly() {
        assertThatThrownBy(() -> ArgsAgreement.check(Path.of("iter"), "mp_rank_00", args(64, 0, 192L), "mp_rank_01", args(64, 1, null)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("args.ffn_hidden_size (192 vs absent)");
    }
}
