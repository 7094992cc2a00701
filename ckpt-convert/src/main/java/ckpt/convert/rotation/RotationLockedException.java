package ckpt.convert.rotation;

import ckpt.format.FormatException;

import java.nio.file.Path;

/** Another rotation holds the save dir's lock file. */
public final class RotationLockedException extends FormatException {
    public RotationLockedException(Path lockFile, String message) {
        super(lockFile, message);
    }
}
