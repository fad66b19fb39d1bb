package io.unwedge.daemon;

import io.unwedge.core.PciAddress;
import io.unwedge.core.safety.PastRecovery;
import io.unwedge.core.safety.Quarantine;
import io.unwedge.daemon.journal.JournalException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** What the safety check reads about a device's past, and where a quarantine is kept: the journal, in the daemon. */
interface DeviceHistory {

    /** The device's recovery attempts that started at or after {@code from}, oldest first. */
    List<PastRecovery> since(PciAddress bdf, Instant from) throws JournalException;

    /** The device's quarantine, if one is active (not released). */
    Optional<Quarantine> quarantine(PciAddress bdf) throws JournalException;

    void quarantine(Quarantine q) throws JournalException;

    /** No journal: no past, quarantines kept in memory for the life of the process. */
    static DeviceHistory inMemory() {
        Map<PciAddress, Quarantine> quarantined = new ConcurrentHashMap<>();
        return new DeviceHistory() {
            @Override
            public List<PastRecovery> since(PciAddress bdf, Instant from) {
                return List.of();
            }

            @Override
            public Optional<Quarantine> quarantine(PciAddress bdf) {
                return Optional.ofNullable(quarantined.get(bdf));
            }

            @Override
            public void quarantine(Quarantine q) {
                quarantined.put(q.bdf(), q);
            }
        };
    }
}
