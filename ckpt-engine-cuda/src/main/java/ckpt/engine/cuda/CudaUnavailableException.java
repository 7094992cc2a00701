package ckpt.engine.cuda;

/** Why the cuda engine cannot run here, as one line a user can act on (the engine's status shows it, never a trace). */
final class CudaUnavailableException extends Exception {
    CudaUnavailableException(String reason) {
        super(reason, null, false, false);
    }
}
