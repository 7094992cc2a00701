package ckpt.convert.analysis;

/**
 * One thing wrong with a checkpoint, as verify reports it.
 *
 * @param file the file at fault (path as reached from what the user gave)
 * @param key  the tensor or object key concerned, or null
 * @param what one sentence
 */
public record Problem(String file, String key, String what) {
    @Override
    public String toString() {
        return file + ": " + what + (key == null ? "" : " (key " + key + ")");
    }
}
