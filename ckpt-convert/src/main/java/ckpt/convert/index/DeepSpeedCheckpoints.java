package ckpt.convert.index;

import ckpt.format.deepspeed.DeepSpeedDir;

import java.nio.file.Path;

/** Which tag directory a DeepSpeed path means: itself when it holds rank files, else the one {@code latest} names. */
final class DeepSpeedCheckpoints {
    private DeepSpeedCheckpoints() {
    }

    static Path tagDir(Path path) {
        if (DeepSpeedDir.isTagDir(path)) return path;
        return DeepSpeedDir.open(path).latestTag();
    }
}
