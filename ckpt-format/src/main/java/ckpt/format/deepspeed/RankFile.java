package ckpt.format.deepspeed;

import ckpt.format.FormatException;
import ckpt.format.tensor.StridedView;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;
import ckpt.format.zip.ZipEntryInfo;

import java.nio.file.Path;

/**
 * One {@code torch.save} file of a DeepSpeed checkpoint, with the rank that wrote it. Its pickle is decoded at open
 * (DeepSpeed's own classes — {@code ZeroStageEnum}, {@code LossScaler}, {@code fragment_address} — become inert
 * objects); tensor bytes are mapped only when a view is asked for, window by window, through {@link ZeroFiles}.
 *
 * @param name file name relative to the tag directory
 * @param rank data-parallel rank (0 for {@code mp_rank_00_model_states.pt})
 */
public record RankFile(String name, int rank, Path path, TorchSaveArchive archive, ZeroFiles files) {

    public Object root() {
        return archive.root();
    }

    /** Where a tensor's storage lies in this file, checked against the storage size and the view's extent. */
    public StoredTensor stored(TensorRef t, String what) {
        if (t.isMeta()) throw error(what + " is a meta tensor (no data)");
        String entry = archive.zip().prefix() + "/data/" + t.storage().key();
        ZipEntryInfo e = archive.zip().entry(entry).orElseThrow(() -> error("storage record " + entry + " of " + what + " is missing"));
        if (!e.isStored()) throw error("storage record " + entry + " of " + what + " is compressed; torch writes STORED records");
        if (e.compressedSize() != t.storage().byteSize())
            throw error("storage record " + entry + " of " + what + " holds " + e.compressedSize() + " bytes, its storage needs "
                    + t.storage().byteSize());
        String why = t.outsideStorage(what);
        if (why != null) throw error(why);
        return new StoredTensor(this, t, e.dataOffset(), e.compressedSize());
    }

    /** The pickle record ({@code data.pkl}): its offset and size, for byte accounting. */
    public ZipEntryInfo pickle() {
        String n = archive.zip().prefix() + "/data.pkl";
        return archive.zip().entry(n).orElseThrow(() -> error("no " + n));
    }

    public FormatException error(String message) {
        return new FormatException(path, "rank " + rank, message);
    }

    /** A tensor of this file and the bytes of its storage record. */
    public record StoredTensor(RankFile file, TensorRef tensor, long offset, long length) {
        /** The tensor as saved (its own offset and strides), mapped until the next window release. */
        public StridedView view() {
            return new StridedView(file.files().window(file.name(), offset, length, file.rank()), tensor.dtype(),
                    tensor.storageOffset(), tensor.shape(), tensor.stride());
        }

        /** The storage as a flat tensor, mapped until the next window release. */
        public java.lang.foreign.MemorySegment storage() {
            return file.files().window(file.name(), offset, length, file.rank());
        }

        public String storageKey() {
            return tensor.storage().key();
        }
    }
}
