package io.unwedge.core;

/** One step of a recovery plan, named as the log and the journal name it. */
public enum Step {
    /**
     * make the device free before it is unbound (contract §4, consumer prerequisites): find its holders,
     * apply the drain policy, wait for them to exit; refused when holders remain (unless forced)
     */
    DRAIN("drain"),
    /** write the BDF to {@code <driver>/unbind}, then wait until the driver link is gone */
    UNBIND("unbind"),
    /** write the BDF to {@code <driver>/bind}, then wait until the driver is bound and a cardN minor exists */
    BIND("bind"),
    /** watch the device for a settle window: a new wedge of the same BDF means the recovery failed */
    SETTLE("settle");

    private final String word;

    Step(String word) {
        this.word = word;
    }

    @Override
    public String toString() {
        return word;
    }
}
