package ckpt.format.torchsave;

import ckpt.format.tensor.Shapes;
import ckpt.format.pickle.Buildable;
import ckpt.format.tensor.DType;

import java.util.Arrays;

/**
 * A tensor in a torch.save pickle ({@code _rebuild_tensor_v2/v3}, {@code _rebuild_parameter}…): its storage, dtype
 * and view (offset and strides in elements). {@code storage} is null for meta tensors, which have a shape but no data.
 * BUILD on a tensor (Python attributes of a Parameter subclass) lands in {@link #attributes()}.
 */
public final class TensorRef implements Buildable {
    private final StorageRef storage;
    private final DType dtype;
    private final long storageOffset;
    private final long[] shape;
    private final long[] stride;
    private final boolean requiresGrad;
    private final boolean parameter;
    private Object attributes;

    public TensorRef(StorageRef storage, DType dtype, long storageOffset, long[] shape, long[] stride,
                     boolean requiresGrad, boolean parameter) {
        this.storage = storage;
        this.dtype = dtype;
        this.storageOffset = storageOffset;
        this.shape = shape.clone();
        this.stride = stride.clone();
        this.requiresGrad = requiresGrad;
        this.parameter = parameter;
    }

    public TensorRef asParameter(boolean requiresGrad) {
        TensorRef t = new TensorRef(storage, dtype, storageOffset, shape, stride, requiresGrad, true);
        t.attributes = attributes;
        return t;
    }

    public StorageRef storage() {
        return storage;
    }

    public DType dtype() {
        return dtype;
    }

    public long storageOffset() {
        return storageOffset;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long[] stride() {
        return stride.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public long byteSize() {
        return Shapes.byteSize(shape, dtype);
    }

    /** Elements the storage must hold for this view: last touched index + 1 (0 when empty). */
    public long requiredStorageElements() {
        return Shapes.requiredElements(storageOffset, shape, stride);
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public boolean parameter() {
        return parameter;
    }

    public boolean isMeta() {
        return storage == null;
    }

    public Object attributes() {
        return attributes;
    }

    @Override
    public void build(Object state) {
        this.attributes = state;
    }

    /** The tensor in words, for messages: "float32 tensor of shape [3, 4] on storage record data/0". */
    public String describe() {
        return dtype + " tensor of shape " + Arrays.toString(shape)
                + (storage == null ? " (meta, no data)" : " on storage record data/" + storage.key());
    }

    /**
     * Why this view does not fit its storage, in words, or null when it does. {@code name} is the tensor's key when the
     * caller knows it (null otherwise).
     */
    public String outsideStorage(String name) {
        long need = requiredStorageElements();
        long held = storage.numel();
        if (need <= held) return null;
        return (name == null ? "" : name + ": ") + describe() + " (storage offset " + storageOffset + ", strides "
                + Arrays.toString(stride) + ") needs " + need + " elements of its storage, which holds " + held;
    }

    @Override
    public String toString() {
        return describe();
    }
}
