package io.unwedge.daemon;

/** Told of every finished wedge handling; the demo's summary and the tests listen here. */
@FunctionalInterface
public interface RecoveryListener {
    void finished(RecoveryReport report);

    RecoveryListener NONE = r -> {};
}
