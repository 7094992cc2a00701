package ckpt.convert.reshard;

import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;

import java.util.List;

/**
 * The common state of a {@code torch_dist} save as {@code ckpt reshard} writes it, whatever the source: the optimizer
 * entry and content metadata a {@code fully_reshardable} save holds, or the args saying the optimizer (or RNG) state
 * is absent so that Megatron does not look for it. Never changes the source's objects: every edit is on a copy.
 */
final class CommonState {
    private CommonState() {
    }

    /**
     * {@code common} with {@code optimizerEntry} (the optimizer's {@code state_dict()} without per-parameter state:
     * {@code optimizer} param groups, {@code grad_scaler}) as a {@code fully_reshardable} optimizer, and the content
     * metadata Megatron's save records for that format ({@code checkpointing.py::_build_sharded_state_dict_metadata}).
     */
    static PyDict fullyReshardable(PyDict common, PyDict optimizerEntry) {
        PyDict out = copy(common);
        PyDict entry = copy(optimizerEntry);
        entry.put("param_state_sharding_type", "fully_reshardable");
        out.put("optimizer", entry);
        PyDict content = common.get("content_metadata") instanceof PyDict cm ? copy(cm) : new PyDict();
        content.put("distrib_optim_sharding_type", "fully_reshardable");
        content.put("distrib_optim_fully_reshardable_mem_efficient", false);
        if (!content.containsKey("singleton_local_shards")) content.put("singleton_local_shards", false);
        if (!content.containsKey("chained_optim_avoid_prefix")) content.put("chained_optim_avoid_prefix", true);
        out.put("content_metadata", content);
        return out;
    }

    /** {@code common} without optimizer state, its args saying {@code no_save_optim} so that Megatron does not load one. */
    static PyDict withoutOptimizer(PyDict common) {
        PyDict out = copy(common, "optimizer");
        if (out.get("content_metadata") instanceof PyDict cm)
            out.put("content_metadata", copy(cm, "distrib_optim_sharding_type", "distrib_optim_fully_reshardable_mem_efficient"));
        return withArg(out, "no_save_optim", true);
    }

    /** {@code common} with one attribute of its {@code args} Namespace set (unchanged when it has no Namespace). */
    static PyDict withArg(PyDict common, String name, Object value) {
        if (!(common.get("args") instanceof PyObject ns) || !(ns.state() instanceof PyDict attrs)) return common;
        PyObject args = new PyObject(ns.type(), ns.args(), ns.kwargs(), ns.origin());
        PyDict a = copy(attrs);
        a.put(name, value);
        args.setState(a);
        PyDict out = copy(common);
        out.put("args", args);
        return out;
    }

    /** A shallow copy of {@code d} without {@code leaveOut}. */
    static PyDict copy(PyDict d, String... leaveOut) {
        PyDict out = d.type() == null ? new PyDict() : new PyDict(d.type());
        List<String> skip = List.of(leaveOut);
        d.items().forEach((k, v) -> {
            if (!skip.contains(k)) out.put(k, v);
        });
        return out;
    }
}
