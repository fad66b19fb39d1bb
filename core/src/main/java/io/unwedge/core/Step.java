package io.unwedge.core;

/** One step of a recovery plan, named as the log and the journal name it. */
public enum Step {
    /**
     * make the device free before it is unbound (contract §4, consumer prerequisites): find its holders,
     * apply the drain policy, wait for them to exit; refused when holders remain (unless forced)
     */
    DRAIN("drain"),
    /**
     * write each function's BDF to {@code <driver>/unbind} (for a reset: every bound function of the device,
     * the GPU last), then wait until the driver links are gone
     */
    UNBIND("unbind"),
    /** write {@code 1} to {@code <BDF>/reset}, under the configured {@code reset_method}, restored after */
    RESET("reset"),
    /** write {@code 1} to each function's {@code remove}, then wait until they are gone from sysfs */
    REMOVE("remove"),
    /** write {@code 0} to {@code slots/<S>/power}, then hold the slot off for the configured time */
    POWER_OFF("power-off"),
    /** write {@code 1} to {@code slots/<S>/power} */
    POWER_ON("power-on"),
    /** write {@code 1} to {@code bus/pci/rescan}, then wait until the removed functions are back */
    RESCAN("rescan"),
    /**
     * write each function's BDF to {@code <driver>/bind} unless the driver core's autoprobe bound it already,
     * then wait until the GPU is bound and a cardN minor exists
     */
    BIND("bind"),
    /** run the driver's configured vendor command (vendor-specific), with the event in its environment */
    COMMAND("command"),
    /** watch the device for a settle window: a new wedge of the same BDF means the recovery failed */
    SETTLE("settle");

    private final String word;

    Step(String word) {
        this.word = word;
    }

    public static java.util.Optional<Step> ofWord(String word) {
        for (var s : values()) if (s.word.equals(word)) return java.util.Optional.of(s);
        return java.util.Optional.empty();
    }

    @Override
    public String toString() {
        return word;
    }
}
