package ckpt.cli;

import ckpt.convert.rotation.CompletenessCheck;
import ckpt.convert.rotation.DcpCompletenessCheck;
import ckpt.convert.rotation.DeepSpeedCompletenessCheck;
import ckpt.convert.rotation.FileLevelCompletenessCheck;
import ckpt.convert.rotation.SaveDirLister;

/** The completeness check list and rotate use: file names first, then every .metadata-referenced file's length, then DeepSpeed's saved world size. */
final class Completeness {
    private Completeness() {
    }

    static CompletenessCheck standard() {
        return new FileLevelCompletenessCheck().then(new DcpCompletenessCheck()).then(new DeepSpeedCompletenessCheck());
    }

    static SaveDirLister lister() {
        return new SaveDirLister(standard());
    }
}
