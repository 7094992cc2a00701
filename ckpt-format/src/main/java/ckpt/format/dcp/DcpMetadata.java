package ckpt.format.dcp;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The decoded {@code .metadata} of a DCP checkpoint (FORMATS.md §3.2–3.3): tensors and bytes items in file order,
 * the storage record of every chunk and item, and the optional fields that appeared over torch releases.
 *
 * @param metadataClass  fully qualified class of the pickled top object ({@code …Metadata} or Megatron's {@code MCoreMetadata})
 * @param tensors        global tensors by FQN, in the order of {@code state_dict_metadata}; their chunk lists are
 *                       views over columns when read from a file ({@code DcpColumns})
 * @param bytesItems     FQNs of non-tensor items, same order
 * @param storage        storage record of every chunk / item (when read from a file: a read-only view over columns,
 *                       entries made when iterated, in storage_data order)
 * @param plannerData    FQN → original nested path ({@code flatten_state_dict}); empty when absent
 * @param version        {@code Metadata.version} or null
 * @param checkpointId   {@code storage_meta.checkpoint_id} or null
 * @param saveId         {@code storage_meta.save_id} or null
 * @param mcoreData      Megatron {@code mcore_data} (key → original-shape info), empty when absent
 * @param hasAllLocalPlans whether Megatron's cached {@code all_local_plans} are present (they roughly double the size)
 */
public record DcpMetadata(Path file, String metadataClass, Map<String, TensorStorageMetadata> tensors,
                          List<String> bytesItems, Map<MetadataIndex, StorageInfo> storage,
                          Map<String, List<Object>> plannerData, String version, String checkpointId, String saveId,
                          Map<String, Map<String, Object>> mcoreData, boolean hasAllLocalPlans) {

    public StorageInfo storageOf(String fqn, ChunkStorageMetadata chunk) {
        if (chunk.storage() != null) return chunk.storage();
        return storage.get(new MetadataIndex(fqn, chunk.box().offsets()));
    }

    public StorageInfo storageOf(String bytesFqn) {
        return storage.get(new MetadataIndex(bytesFqn, null));
    }

    /**
     * The furthest end of a storage record in each file the records name (a data file's size as the metadata implies
     * it), in first-seen order; read from the columns without a record object each when the metadata came from a file.
     */
    public Map<String, Long> recordEnds() {
        if (storage instanceof StorageTable.View v) return v.recordEnds();
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        for (StorageInfo s : storage.values()) out.merge(s.relativePath(), s.end(), Math::max);
        return out;
    }

    public int storageRecordCount() {
        return storage.size();
    }
}
