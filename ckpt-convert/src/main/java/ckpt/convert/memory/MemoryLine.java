package ckpt.convert.memory;

/**
 * One figure of a memory estimate, per GPU.
 *
 * @param formula how it is computed, in the report's symbols
 * @param source  where the formula comes from (Megatron's function, Korthikanti et al. 2022 Table 2, ckpt's own)
 */
public record MemoryLine(String name, double bytes, String formula, String source) {
}
