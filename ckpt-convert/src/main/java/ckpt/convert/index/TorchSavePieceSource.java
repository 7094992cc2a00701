package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.tensor.StridedView;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;
import ckpt.format.zip.ZipEntryInfo;

import java.util.Arrays;

/**
 * A tensor stored in a zip torch.save file (a legacy rank's {@code model_optim_rng.pt} or {@code distrib_optim.pt}),
 * seen with {@code prepend} singleton axes in front so that it has the rank of the stacked global tensor it fills
 * ({@code [rows, cols]} of layer 3 → {@code [1, rows, cols]} at layer offset 3).
 *
 * @param file    path relative to the iteration dir, e.g. {@code mp_rank_01/model_optim_rng.pt}
 * @param offset  first byte of the storage record in that file
 * @param length  bytes of the storage record
 */
public record TorchSavePieceSource(String file, TorchSaveArchive archive, TensorRef tensor, int prepend, long offset,
                            long length) implements PieceSource {

    public static TorchSavePieceSource of(String file, TorchSaveArchive archive, TensorRef tensor, int prepend) {
        if (tensor.isMeta()) throw new FormatException(archive.file(), "meta tensor " + tensor + " has no data");
        String name = archive.zip().prefix() + "/data/" + tensor.storage().key();
        ZipEntryInfo e = archive.zip().entry(name).orElseThrow(() ->
                new FormatException(archive.file(), "storage record " + name + " is missing"));
        // validate before use: a storage entry cut or grown (damaged central directory, rewritten file) is refused when
        // the index is built — inspect and fast verify see it without reading the data
        if (e.compressedSize() != tensor.storage().byteSize())
            throw new FormatException(archive.file(), "storage record " + name + " holds " + e.compressedSize()
                    + " bytes (central directory), its tensor needs " + tensor.storage().byteSize());
        long start = e.dataOffset(); // the archive was opened on the whole mapped file
        return new TorchSavePieceSource(file, archive, tensor, prepend, start, e.compressedSize());
    }

    @Override
    public StridedView open() {
        StridedView v = archive.view(tensor);
        if (prepend == 0) return v;
        long[] shape = new long[prepend + v.rank()];
        long[] strides = new long[shape.length];
        Arrays.fill(shape, 0, prepend, 1);
        System.arraycopy(v.shape(), 0, shape, prepend, v.rank());
        System.arraycopy(v.strides(), 0, strides, prepend, v.rank());
        return new StridedView(v.storage(), v.dtype(), v.offset(), shape, strides);
    }
}
