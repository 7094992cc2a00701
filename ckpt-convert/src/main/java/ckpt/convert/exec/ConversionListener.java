package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;

/** Progress of a conversion; every method is called on the converting thread. */
public interface ConversionListener {
    ConversionListener NONE = new ConversionListener() {
    };

    /** The plan is known: tensor count and total bytes. */
    default void planned(ConversionPlan plan) {
    }

    default void tensorWritten(OutputTensor tensor) {
    }
}
