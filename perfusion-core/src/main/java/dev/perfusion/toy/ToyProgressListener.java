package dev.perfusion.toy;

/**
 * Progress of the toy world's long-running commands ({@link ToyEvaluation}, {@link ToyDemo}), for progress bars:
 * a sequence of tasks ("covariance", "train &lt;ring&gt; PERFUSION", "sample &lt;ring&gt; PERFUSION β 0.7", …), each
 * counting units up to its total. Called on the working thread; every method has an empty default.
 */
public interface ToyProgressListener {
    /** A listener that does nothing. */
    ToyProgressListener NONE = new ToyProgressListener() {
    };

    /**
     * A task advanced.
     *
     * @param task   short name of the task; a new name starts a new bar
     * @param done   units done so far (1 … total)
     * @param total  units of the task
     * @param detail extra text for the bar (e.g. "loss 0.0812"), possibly empty
     */
    default void onProgress(String task, int done, int total, String detail) {
    }

    /** A one-line message (what is being written, timings). */
    default void onMessage(String message) {
    }
}
