package ckpt.format.megatron;

/**
 * How the saving job was parallelised. Megatron's torch_dist keys are independent of it (tensors are global);
 * it explains the chunking, the files and the optimizer layout.
 *
 * @param optimizerFormat {@code dp_reshardable}, {@code fully_reshardable}, {@code fully_sharded_model_space},
 *                        {@code dp_zero_gather_scatter}, or null when there is no distributed optimizer state
 */
public record ParallelLayout(long tensorParallel, long pipelineParallel, long dataParallel, long expertParallel,
                             long contextParallel, Long virtualPipeline, long worldSize,
                             boolean distributedOptimizer, String optimizerFormat) {

    public static ParallelLayout from(MegatronArgs a, String optimizerFormat) {
        long tp = a.getLong("tensor_model_parallel_size", 1);
        long pp = a.getLong("pipeline_model_parallel_size", 1);
        long cp = a.getLong("context_parallel_size", 1);
        long ep = a.getLong("expert_model_parallel_size", 1);
        long world = a.getLong("world_size", tp * pp * cp);
        long dp = a.getLong("data_parallel_size").orElse(Math.max(1, world / Math.max(1, tp * pp * cp)));
        Long vpp = a.getLong("virtual_pipeline_model_parallel_size").orElse(null);
        return new ParallelLayout(tp, pp, dp, ep, cp, vpp, world, a.getBool("use_distributed_optimizer", false), optimizerFormat);
    }
}
