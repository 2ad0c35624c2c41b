package io.managedsession.database;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.PullResponseItem;
import com.github.dockerjava.api.model.ResponseItem;

/**
 * Follows an image pull to its end and keeps why it failed, as whichever engine says it. Docker answers a pull that
 * fails at once with an error status, which reaches {@link #onError}; Podman answers it with a stream that says OK and
 * carries the registry's error in an item without a status, on which docker-java's own pull callback fails with a
 * {@link NullPointerException}, losing the reason. Neither is logged here: the resolver tells the developer, once.
 */
final class ImagePullOutcome extends ResultCallback.Adapter<PullResponseItem> {

    private volatile String engineError;
    private volatile Throwable failure;

    @Override
    public void onNext(PullResponseItem item) {
        if (engineError == null && item != null && item.isErrorIndicated()) {
            ResponseItem.ErrorDetail detail = item.getErrorDetail();
            engineError = detail != null && detail.getMessage() != null ? detail.getMessage() : item.getError();
        }
    }

    /** Keeps the failure instead of docker-java's ERROR line and stack trace, and ends the wait. */
    @Override
    public void onError(Throwable throwable) {
        failure = throwable;
        onComplete();
    }

    /** Why the pull failed, in the engine's words, or {@code null} when it reported no failure. */
    String failureReason() {
        if (engineError != null) {
            return engineError.strip();
        }
        // The engine's error ends with a line break, which would cut the log line that quotes it in two.
        return failure == null ? null : String.valueOf(failure.getMessage()).strip();
    }

    /** The exception the pull failed with, if the engine answered with one rather than with an error item. */
    Throwable failure() {
        return failure;
    }
}
