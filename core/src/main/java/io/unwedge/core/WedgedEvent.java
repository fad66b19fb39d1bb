package io.unwedge.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A DRM device declared wedged: a {@code change} uevent of subsystem {@code drm} on a primary minor
 * {@code …/<BDF>/drm/cardN} carrying {@code WEDGED=}. The methods are in the driver's order, least
 * side-effects first; anything the kernel could not have produced — an unknown token, a token cut by the
 * kernel's 32-byte buffer, a repeated or out-of-order token — makes the event {@code [unknown]}.
 */
public record WedgedEvent(String card, int cardIndex, PciAddress bdf, Devpath devpath,
                          List<RecoveryMethod> methods, Optional<TaskInfo> task, long seqnum,
                          String rawMethods, Uevent uevent) {

    /**
     * drm_dev_wedged_event() fills char[32] with "WEDGED=" and "token," per method, scnprintf-capped at 31
     * characters, then overwrites the last one (the trailing comma) with NUL: at most 23 characters of list.
     * A 23-character list may therefore be a cut one even when its last token looks whole.
     */
    static final int MAX_METHODS_LENGTH = 32 - 1 - "WEDGED=".length() - 1;

    public WedgedEvent {
        Objects.requireNonNull(card);
        Objects.requireNonNull(bdf);
        methods = List.copyOf(methods);
        if (methods.isEmpty()) throw new IllegalArgumentException("no methods");
        Objects.requireNonNull(task);
    }

    /** The outcome of looking at one uevent: a wedge, or why it is not one. */
    public sealed interface Recognition permits Wedged, NotWedged {}

    public record Wedged(WedgedEvent event) implements Recognition {}

    /**
     * Not a wedge. {@code suspicious} is true when the event carried WEDGED= but broke the contract
     * (worth a warning), false for the many ordinary events (hotplug, other subsystems).
     */
    public record NotWedged(String reason, boolean suspicious) implements Recognition {}

    public static Recognition recognise(Uevent u) {
        if (!"drm".equals(u.subsystem())) return new NotWedged("subsystem " + u.subsystem(), false);
        String wedged = u.get("WEDGED");
        if (wedged == null) return new NotWedged("drm " + u.action() + " without WEDGED", false);
        if (!u.action().equals("change")) return new NotWedged("WEDGED on action " + u.action(), true);
        var checked = Devpath.check(u.devpath());
        if (checked instanceof Devpath.Checked.Bad(var reason)) return new NotWedged(reason, true);
        var devpath = ((Devpath.Checked.Ok) checked).devpath();
        var bdf = devpath.primaryMinorFunction();
        if (bdf.isEmpty()) return new NotWedged("WEDGED not on a primary minor …/<BDF>/drm/cardN: " + devpath.last(), true);
        var seq = u.seqnum();
        if (seq.isEmpty()) return new NotWedged("no SEQNUM: not sent by the kernel", true);
        String card = devpath.last();
        return new Wedged(new WedgedEvent(card, Integer.parseInt(card.substring(4)), bdf.get(), devpath,
                parseMethods(wedged), task(u), seq.getAsLong(), wedged, u));
    }

    /** The driver's list, or {@code [unknown]} when it cannot be what drm_dev_wedged_event() produced. */
    public static List<RecoveryMethod> parseMethods(String value) {
        if (value.isEmpty() || value.length() >= MAX_METHODS_LENGTH) {
            // a full buffer may be a cut one, even when the last token looks whole
            return List.of(RecoveryMethod.UNKNOWN);
        }
        var out = new ArrayList<RecoveryMethod>();
        for (String token : value.split(",", -1)) {
            var m = RecoveryMethod.ofToken(token);
            if (m.isEmpty() || m.get() == RecoveryMethod.UNKNOWN) return List.of(RecoveryMethod.UNKNOWN);
            if (!out.isEmpty() && out.getLast().compareTo(m.get()) >= 0) return List.of(RecoveryMethod.UNKNOWN);
            out.add(m.get());
        }
        return List.copyOf(out);
    }

    /** PID and TASK come together or not at all; a malformed pair is dropped, never half-used. */
    private static Optional<TaskInfo> task(Uevent u) {
        String pid = u.get("PID"), comm = u.get("TASK");
        if (pid == null || comm == null || comm.isEmpty() || comm.length() > 15) return Optional.empty();
        if (pid.isEmpty() || !pid.chars().allMatch(c -> c >= '0' && c <= '9')) return Optional.empty(); // PID=%u, no sign
        try {
            int p = Integer.parseInt(pid);
            return p < 0 ? Optional.empty() : Optional.of(new TaskInfo(p, comm));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    public boolean asks(RecoveryMethod m) {
        return methods.contains(m);
    }

    @Override
    public String toString() {
        return "wedged " + card + " " + bdf + " methods=" + rawMethods + " seqnum=" + seqnum
                + task.map(t -> " task=" + t).orElse("");
    }
}
