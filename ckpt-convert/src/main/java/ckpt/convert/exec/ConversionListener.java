package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;

/**
 * Progress of a conversion. Every method is called on the thread that called the executor, never on a worker, so a
 * listener needs no locking; workers report through the executor.
 */
public interface ConversionListener {
    ConversionListener NONE = new ConversionListener() {
    };

    /** The plan is known: tensor count and total bytes. */
    default void planned(ConversionPlan plan) {
    }

    /** {@code bytes} more output bytes are written (one part of a tensor); the sum over a run is the plan's total. */
    default void bytesWritten(long bytes) {
    }

    /** Every byte of {@code tensor} is written. */
    default void tensorWritten(OutputTensor tensor) {
    }
}
