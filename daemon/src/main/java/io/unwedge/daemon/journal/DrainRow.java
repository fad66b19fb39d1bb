package io.unwedge.daemon.journal;

import io.unwedge.core.holders.DrainPolicy;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One holder of one drain, as the journal keeps it (schema v4): who held the device, what it held, which
 * signal the drain sent it and how it ended. A drain writes one row per process it found, with the drain
 * step it belongs to; the drain before a quarantine's unbind has no step.
 *
 * @param stepId the drain step's row; empty for a drain outside a step (the quarantine's)
 * @param at     when the row was written: the drain's end
 */
public record DrainRow(long id, long recoveryId, Optional<Long> stepId, Instant at, Holder holder) {

    public DrainRow {
        Objects.requireNonNull(stepId);
        Objects.requireNonNull(at);
        Objects.requireNonNull(holder);
    }

    /** How a holder's part in a drain ended. */
    public enum Outcome {
        /** it exited after SIGTERM, or on its own while the drain waited for it */
        EXITED,
        /** it exited after SIGKILL */
        KILLED,
        /** it let go of the device (closed and unmapped it) and still runs */
        RELEASED,
        /** it was gone before the drain signalled it: exited, or let go, between the scan and the signal */
        GONE_BEFORE_SIGNAL,
        /** it still held the device when the drain ended (out of time, new openers, the daemon stopping) */
        REMAINED,
        /** it is protected (a display server, a display manager's unit, a protected uid): never signalled */
        PROTECTED,
        /** notify-only: listed, never signalled */
        NOTIFIED;

        /** {@code exited}, {@code gone-before-signal}, … */
        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public static Optional<Outcome> parse(String word) {
            for (var o : values()) if (o.toString().equals(word)) return Optional.of(o);
            return Optional.empty();
        }
    }

    /**
     * A holder as the drain saw it last, and its end.
     *
     * @param uid       the real uid, when {@code /proc} said
     * @param unit      the systemd unit of its cgroup
     * @param container the container id of its cgroup
     * @param fds       descriptors it had open on the device's nodes
     * @param maps      mappings of the device it had
     * @param clients   the DRM clients its descriptors were
     * @param signal    the strongest signal the drain sent it; empty for none
     * @param exitMillis from the scan that first found it to the one that found it gone; empty when it did not go
     */
    public record Holder(int pid, String comm, Optional<Integer> uid, Optional<String> unit, Optional<String> container,
                         int fds, int maps, int clients, Optional<DrainPolicy.Signal> signal, Outcome outcome,
                         Optional<Long> exitMillis) {
        public Holder {
            if (pid <= 0) throw new IllegalArgumentException("a holder's pid must be positive: " + pid);
            Objects.requireNonNull(comm);
            Objects.requireNonNull(uid);
            Objects.requireNonNull(unit);
            Objects.requireNonNull(container);
            if (fds < 0 || maps < 0 || clients < 0) {
                throw new IllegalArgumentException("a holder's counts must not be negative: " + fds + " fds, " + maps + " maps, " + clients + " clients");
            }
            Objects.requireNonNull(signal);
            Objects.requireNonNull(outcome);
            Objects.requireNonNull(exitMillis);
            exitMillis.ifPresent(ms -> {
                if (ms < 0) throw new IllegalArgumentException("a holder's time to exit must not be negative: " + ms);
            });
        }

        /** The signal as the journal writes it: {@code none}, {@code SIGTERM}, {@code SIGKILL}. */
        public String signalWord() {
            return signal.map(Object::toString).orElse("none");
        }
    }

    /** {@code none}, {@code SIGTERM}, {@code SIGKILL} read back. */
    static Optional<DrainPolicy.Signal> signal(String word) {
        for (var s : DrainPolicy.Signal.values()) if (s.toString().equals(word)) return Optional.of(s);
        if (word.equals("none")) return Optional.empty();
        throw new IllegalArgumentException("unknown signal '" + word + "' in the journal (written by a newer unwedge?)");
    }
}
