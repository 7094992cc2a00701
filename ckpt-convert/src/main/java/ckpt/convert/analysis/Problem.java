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
        // a key comes from the input: quoted capped, so that one problem stays one line a terminal shows whole
        return file + ": " + what + (key == null ? "" : " (key " + ckpt.format.InputText.excerpt(key) + ")");
    }
}
