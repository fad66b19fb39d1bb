package io.unwedge.daemon;

import io.unwedge.core.PciAddress;
import io.unwedge.core.safety.Safety;
import io.unwedge.core.safety.SafetyPolicy;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import java.time.Duration;
import java.time.Instant;

/** The safety check on a device's history as the daemon runs it, and as {@code unwedge plan} shows it. */
public final class SafetyCheck {

    private SafetyCheck() {}

    /**
     * @param thisEvent the journal's row of the wedge being judged, excluded from its own history; -1 for none
     */
    static Safety.Verdict check(DeviceHistory history, PciAddress bdf, Instant now, SafetyPolicy p, long thisEvent) throws JournalException {
        var flapSpan = p.flapWindow().multipliedBy(p.flapCount());
        Duration lookback = p.budgetWindow().compareTo(flapSpan) > 0 ? p.budgetWindow() : flapSpan;
        var past = history.since(bdf, now.minus(lookback)).stream().filter(r -> r.eventId() != thisEvent).toList();
        return Safety.check(now, past, history.quarantine(bdf), p);
    }

    /** What the daemon would decide for {@code bdf} now, from {@code journal}. */
    public static Safety.Verdict check(Journal journal, PciAddress bdf, Instant now, SafetyPolicy p) throws JournalException {
        return check(new JournalHistory(journal), bdf, now, p, -1);
    }
}
