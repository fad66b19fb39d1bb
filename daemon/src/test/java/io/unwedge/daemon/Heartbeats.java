package io.unwedge.daemon;

/** Moves a {@link LoopHeartbeat} as the event loop would, for tests outside this package. */
public final class Heartbeats {

    private Heartbeats() {}

    public static void waiting(LoopHeartbeat h) {
        h.waiting();
    }

    public static void working(LoopHeartbeat h) {
        h.working();
    }

    public static void ended(LoopHeartbeat h) {
        h.ended();
    }
}
