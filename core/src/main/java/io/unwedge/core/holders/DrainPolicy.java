package io.unwedge.core.holders;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * What to do about the processes that still hold a device before it is unbound (contract §4, consumer
 * prerequisites: device memory unmapped and descriptors closed before recovery). Pure: {@link #decide}
 * maps the holders and how long each has been seen holding to actions; the daemon carries them out.
 *
 * <h2>The modes</h2>
 * <ul>
 *   <li>{@code terminate} (default): SIGTERM, and after {@code grace} SIGKILL; a holder still there
 *       {@link #KILL_WAIT} later (stuck in the kernel) is given up on.</li>
 *   <li>{@code kill}: SIGKILL at once, given up on after {@link #KILL_WAIT}.</li>
 *   <li>{@code wait}: nobody is signalled; holders have {@code grace} to let go by themselves.</li>
 *   <li>{@code notify-only}: holders are listed and left alone; the recovery does not wait for them.</li>
 * </ul>
 *
 * <h2>Refusing before disrupting anyone</h2>
 * Without {@code force}, a holder that will not be made to go (protected, notify-only, or given up on)
 * ends the drain at once, before any signal of that round: killing some holders and then refusing the
 * recovery would cost their work for nothing. With {@code force} the others are still drained and the
 * recovery then proceeds with those holders left (their descriptors see errors after the rebind).
 *
 * <h2>Why these are protected by default</h2>
 * {@code Xorg}, {@code Xwayland}, {@code gnome-shell}, {@code kwin_wayland} (display servers and
 * compositors) and {@code gdm}, {@code sddm} (display managers, also by their units): killing one ends
 * every graphical session on the seat, with its users' unsaved work, and a display manager may respawn it at
 * once onto the same device, so the drain would race it. On a server they are rare; where they run they are
 * the console, and whether to take it down is a person's decision ({@code --protect} can be emptied, and
 * {@code force} unbinds under them).
 */
public record DrainPolicy(Mode mode, Duration grace, Protection protection, boolean force) {

    /** How long a SIGKILLed holder may take to be gone (it may sit in uninterruptible sleep). */
    public static final Duration KILL_WAIT = Duration.ofSeconds(5);

    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);

    /** terminate, 10 s grace, the display stack protected, no force: see the class comment. */
    public static final DrainPolicy DEFAULT = new DrainPolicy(Mode.TERMINATE, DEFAULT_GRACE, Protection.DEFAULT, false);

    public DrainPolicy {
        Objects.requireNonNull(mode);
        Objects.requireNonNull(grace);
        Objects.requireNonNull(protection);
        if (grace.isNegative()) throw new IllegalArgumentException("grace must not be negative: " + grace);
    }

    public enum Mode {
        WAIT, TERMINATE, KILL, NOTIFY_ONLY;

        /** {@code terminate}, {@code wait}, {@code kill}, {@code notify-only}. */
        public static Optional<Mode> parse(String s) {
            for (var m : values()) if (m.toString().equals(s)) return Optional.of(m);
            return Optional.empty();
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    public enum Signal {
        TERM(15), KILL(9);

        public final int number;

        Signal(int number) {
            this.number = number;
        }

        @Override
        public String toString() {
            return "SIG" + name();
        }
    }

    /**
     * Who is never signalled. {@code comms} match {@code /proc/<pid>/comm}, which the kernel cuts to 15
     * characters, so a longer protected name matches its first 15; {@code units} match the systemd unit of
     * the holder's cgroup; {@code uids} its real uid.
     */
    public record Protection(Set<String> comms, Set<String> units, Set<Integer> uids) {
        public static final Protection NONE = new Protection(Set.of(), Set.of(), Set.of());
        public static final Protection DEFAULT = new Protection(
                Set.of("Xorg", "Xwayland", "gnome-shell", "kwin_wayland", "sddm", "gdm"),
                Set.of("gdm.service", "sddm.service", "display-manager.service"), Set.of());

        public Protection {
            comms = Set.copyOf(comms);
            units = Set.copyOf(units);
            uids = Set.copyOf(uids);
        }

        /** Why {@code h} is protected, or empty. */
        public Optional<String> why(Holder h) {
            return why(h.comm(), h.placement(), h.uid());
        }

        /** Why a process of this comm, placement and uid is protected, or empty; for one that holds nothing (a guilty task). */
        public Optional<String> why(String comm, Placement placement, OptionalInt uid) {
            for (var c : comms) {
                if (comm.equals(c) || c.length() > 15 && comm.equals(c.substring(0, 15))) {
                    return Optional.of("protected comm " + c);
                }
            }
            var unit = placement.unit();
            if (unit.isPresent() && units.contains(unit.get())) return Optional.of("protected unit " + unit.get());
            if (uid.isPresent() && uids.contains(uid.getAsInt())) return Optional.of("protected uid " + uid.getAsInt());
            return Optional.empty();
        }

        public Protection withComms(Set<String> more) {
            var all = new java.util.HashSet<>(comms);
            all.addAll(more);
            return new Protection(all, units, uids);
        }
    }

    /** A holder and how long the drain has seen it holding the device. */
    public record Seen(Holder holder, Duration elapsed) {
        public Seen {
            Objects.requireNonNull(holder);
            if (elapsed.isNegative()) throw new IllegalArgumentException("negative elapsed");
        }
    }

    /** What to do about one holder now. */
    public sealed interface Action {
        Holder holder();

        /** Send {@code signal} (once: the daemon does not repeat a signal already sent) and look again in {@code lookAgain}. */
        record Send(Holder holder, Signal signal, Duration lookAgain) implements Action {}

        /** Signal nobody; look again in {@code lookAgain}. */
        record Wait(Holder holder, Duration lookAgain) implements Action {}

        /** Never signalled: {@code why} names the rule. */
        record Spare(Holder holder, String why) implements Action {}

        /** notify-only: listed, left alone. */
        record Notify(Holder holder) implements Action {}

        /** Its time is up and it is still there. */
        record GiveUp(Holder holder, String why) implements Action {}

        default boolean stays() {
            return this instanceof Spare || this instanceof Notify || this instanceof GiveUp;
        }
    }

    /** The drain's next move. */
    public sealed interface Verdict {
        /** Nothing holds the device. */
        record Free() implements Verdict {}

        /** Carry out {@code actions}, then wait for exits for at most {@code lookAgain} and scan again. */
        record Drain(List<Action> actions, Duration lookAgain) implements Verdict {}

        /**
         * Holders remain that will not go ({@code actions} has one per holder: nothing in it is to be sent).
         * Without force the recovery is refused; with force it proceeds.
         */
        record Stop(List<Action> actions, String why) implements Verdict {}
    }

    public Action action(Seen s) {
        var h = s.holder();
        var protectedWhy = protection.why(h);
        if (protectedWhy.isPresent()) return new Action.Spare(h, protectedWhy.get());
        Duration e = s.elapsed();
        return switch (mode) {
            case NOTIFY_ONLY -> new Action.Notify(h);
            case WAIT -> e.compareTo(grace) < 0 ? new Action.Wait(h, grace.minus(e))
                    : new Action.GiveUp(h, "still holding after waiting " + grace.toMillis() + " ms");
            case KILL -> e.compareTo(KILL_WAIT) < 0 ? new Action.Send(h, Signal.KILL, KILL_WAIT.minus(e))
                    : new Action.GiveUp(h, "still there " + KILL_WAIT.toMillis() + " ms after SIGKILL");
            case TERMINATE -> {
                if (e.compareTo(grace) < 0) yield new Action.Send(h, Signal.TERM, grace.minus(e));
                var end = grace.plus(KILL_WAIT);
                yield e.compareTo(end) < 0 ? new Action.Send(h, Signal.KILL, end.minus(e))
                        : new Action.GiveUp(h, "still there " + KILL_WAIT.toMillis() + " ms after SIGKILL");
            }
        };
    }

    /** The verdict for every holder seen now. */
    public Verdict decide(List<Seen> holders) {
        if (holders.isEmpty()) return new Verdict.Free();
        var actions = new ArrayList<Action>();
        for (var s : holders) actions.add(action(s));
        boolean anyStays = actions.stream().anyMatch(Action::stays);
        var moving = actions.stream().filter(a -> !a.stays()).toList();
        if (moving.isEmpty() || anyStays && !force) {
            var staying = actions.stream().filter(Action::stays).toList();
            return new Verdict.Stop(staying, describe(staying));
        }
        Duration next = null;
        for (var a : moving) {
            var d = a instanceof Action.Send send ? send.lookAgain() : ((Action.Wait) a).lookAgain();
            if (next == null || d.compareTo(next) < 0) next = d;
        }
        return new Verdict.Drain(List.copyOf(actions), next);
    }

    /** Every holder seen at the same elapsed time: the common case, and the tests'. */
    public Verdict decide(Holders holders, Duration elapsed) {
        return decide(holders.holders().stream().map(h -> new Seen(h, elapsed)).toList());
    }

    private static String describe(List<Action> staying) {
        var parts = new ArrayList<String>();
        for (var a : staying) {
            String why = switch (a) {
                case Action.Spare sp -> sp.why();
                case Action.Notify n -> "notify-only";
                case Action.GiveUp g -> g.why();
                default -> "";
            };
            parts.add(a.holder().pid() + " " + a.holder().comm() + " (" + why + ")");
        }
        return String.join(", ", parts);
    }
}
