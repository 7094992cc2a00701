package ckpt.convert.exec;

import java.io.IOException;
import java.util.List;

/**
 * An {@link OutputWriter} that can be written by several processes ({@link Share}): each part writes its units'
 * bytes and describes them ({@link #completePart}); the finishing process is given every part's regions
 * ({@link #acceptParts}) and then completes the output with {@link #finish}.
 */
public interface PartWriter extends OutputWriter.Positioned {
    /** A part's writes are made durable; returns what it wrote, for its completion marker. */
    List<PartRegion> completePart() throws IOException;

    /** Every part's regions (already checked present and complete), before {@link #finish}. */
    void acceptParts(List<PartRegion> regions) throws IOException;
}
