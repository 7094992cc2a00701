package ckpt.convert.analysis;

/** Told how many bytes a deep verification reads, and as it goes; the CLI draws a progress bar from it. */
public interface VerifyProgress {
    VerifyProgress NONE = new VerifyProgress() {
        @Override
        public void start(long totalBytes) {
        }

        @Override
        public void advance(long bytes) {
        }

        @Override
        public void done() {
        }
    };

    void start(long totalBytes);

    void advance(long bytes);

    void done();
}
