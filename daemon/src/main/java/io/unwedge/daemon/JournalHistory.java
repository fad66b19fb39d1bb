package io.unwedge.daemon;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.safety.PastRecovery;
import io.unwedge.core.safety.Quarantine;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** A device's past as the journal holds it: what the safety check reads, where quarantines are kept. */
final class JournalHistory implements DeviceHistory {

    /** Results of attempts that touched the device; refused, dry-run, handed-off and nothing-to-do ones did not. */
    private static final Set<String> RAN = Set.of("recovered", "failed");

    private final Journal journal;

    JournalHistory(Journal journal) {
        this.journal = journal;
    }

    @Override
    public List<PastRecovery> since(PciAddress bdf, Instant from) throws JournalException {
        return journal.recoveriesSince(bdf, from).stream()
                .map(a -> new PastRecovery(a.eventId(), a.startedAt(), a.endedAt(),
                        // an unfinished attempt (the daemon died in it) touched the device as far as anyone knows
                        a.result().map(RAN::contains).orElse(true) && a.method().flatMap(RecoveryMethod::ofToken).map(RecoveryMethod::isDisruptive).orElse(false),
                        a.result().filter("recovered"::equals).isPresent()))
                .toList();
    }

    @Override
    public Optional<Quarantine> quarantine(PciAddress bdf) throws JournalException {
        return journal.quarantined().stream().filter(q -> q.bdf().equals(bdf)).findFirst()
                .map(q -> new Quarantine(q.bdf(), q.since(), q.reason(), q.mode()));
    }

    @Override
    public void quarantine(Quarantine q) throws JournalException {
        journal.quarantine(q.bdf(), q.reason(), q.mode());
    }
}
