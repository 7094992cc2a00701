package ckpt.convert.index;

import ckpt.format.tensor.StridedView;

/**
 * Where the bytes of one piece of a global tensor live: a record {@code [offset, offset+length)} of a checkpoint
 * file (a DCP item, a torch.save storage, a safetensors entry) and how to decode it into elements.
 */
public interface PieceSource {
    /** File name relative to the checkpoint directory. */
    String file();

    /** First byte of the record holding this piece (the whole item, container headers included). */
    long offset();

    /** Bytes of that record. */
    long length();

    /** The stored tensor this piece is cut from; validated against the dtype and shape the metadata promises. */
    StridedView open();
}
