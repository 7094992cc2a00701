package ckpt.format.deepspeed;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name of one file of a DeepSpeed tag directory ({@code global_stepN/}), as {@code DeepSpeedEngine} builds it:
 * {@code mp_rank_XX_model_states.pt} (ZeRO 0–2: one per model-parallel rank), {@code zero_pp_rank_R_mp_rank_XX_
 * model_states.pt} (ZeRO-3: one per data-parallel rank), {@code [bf16_]zero_pp_rank_R_mp_rank_XX_optim_states.pt}
 * (one per data-parallel rank; {@code bf16_} when the BF16 optimizer wrote it), and Megatron-DeepSpeed's pipeline
 * files {@code layer_LL-model_XX-model_states.pt}.
 *
 * @param dpRank data-parallel rank (-1 for {@code mp_rank_XX_model_states.pt} and layer files)
 * @param mpRank model-parallel rank
 */
public record ZeroFileName(Kind kind, int dpRank, int mpRank, boolean bf16) {
    public enum Kind { MODEL_STATES, ZERO_MODEL_STATES, OPTIM_STATES, PIPELINE_LAYER, EXPERT }

    private static final Pattern MODEL = Pattern.compile("mp_rank_(\\d{2,})_model_states\\.pt");
    private static final Pattern ZERO_MODEL = Pattern.compile("zero_pp_rank_(\\d+)_mp_rank_(\\d{2,})_model_states\\.pt");
    /** Very old releases wrote no underscore before {@code optim_states}. */
    private static final Pattern OPTIM = Pattern.compile("(bf16_)?zero_pp_rank_(\\d+)_mp_rank_(\\d{2,})_?optim_states\\.pt");
    /** DeepSpeed MoE: expert parameters in their own files. */
    private static final Pattern EXPERT = Pattern.compile("(layer_\\d+_expert_\\d+_mp_rank_\\d{2,}_model_states|expp_rank_\\d+_mp_rank_\\d{2,}_optim_states)\\.pt");
    private static final Pattern LAYER = Pattern.compile("layer_(\\d+)-model_(\\d{2,})-model_states\\.pt");
    /** Rank numbers beyond this are not a real job (and would overflow our arithmetic): refused as hostile. */
    static final int MAX_RANK = 1 << 20;

    public static Optional<ZeroFileName> parse(String name) {
        Matcher m;
        if ((m = MODEL.matcher(name)).matches()) return make(Kind.MODEL_STATES, null, m.group(1), false);
        if ((m = ZERO_MODEL.matcher(name)).matches()) return make(Kind.ZERO_MODEL_STATES, m.group(1), m.group(2), false);
        if ((m = OPTIM.matcher(name)).matches()) return make(Kind.OPTIM_STATES, m.group(2), m.group(3), m.group(1) != null);
        if ((m = LAYER.matcher(name)).matches()) return make(Kind.PIPELINE_LAYER, null, m.group(2), false);
        if (EXPERT.matcher(name).matches()) return Optional.of(new ZeroFileName(Kind.EXPERT, -1, 0, false));
        return Optional.empty();
    }

    private static Optional<ZeroFileName> make(Kind kind, String dp, String mp, boolean bf16) {
        if ((dp != null && dp.length() > 7) || mp.length() > 7) return Optional.empty();
        int d = dp == null ? -1 : Integer.parseInt(dp);
        int p = Integer.parseInt(mp);
        if (d > MAX_RANK || p > MAX_RANK) return Optional.empty();
        return Optional.of(new ZeroFileName(kind, d, p, bf16));
    }

    public static String modelStates(int mpRank) {
        return String.format("mp_rank_%02d_model_states.pt", mpRank);
    }

    public static String zeroModelStates(int dpRank, int mpRank) {
        return String.format("zero_pp_rank_%d_mp_rank_%02d_model_states.pt", dpRank, mpRank);
    }

    public static String optimStates(int dpRank, int mpRank, boolean bf16) {
        return String.format("%szero_pp_rank_%d_mp_rank_%02d_optim_states.pt", bf16 ? "bf16_" : "", dpRank, mpRank);
    }
}
