package io.unwedge.core.holders;

import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every process found holding a device, by pid, and what the scan could not decide ({@code uncertain}:
 * e.g. a dma-buf exported by {@code drm} that may or may not come from this device, or a process whose
 * descriptors could not be read). Holders are counted by process, clients by {@code (pdev, client-id)}.
 */
public record Holders(List<Holder> holders, List<String> uncertain) {

    public Holders {
        holders = holders.stream().sorted(Comparator.comparingInt(Holder::pid)).toList();
        uncertain = List.copyOf(uncertain);
        if (holders.stream().map(Holder::pid).distinct().count() != holders.size()) {
            throw new IllegalArgumentException("one holder per process");
        }
    }

    public boolean isFree() {
        return holders.isEmpty();
    }

    public Set<DrmClient> clients() {
        var out = new TreeSet<DrmClient>();
        for (var h : holders) out.addAll(h.clients());
        return out;
    }

    public List<Integer> pids() {
        return holders.stream().map(Holder::pid).toList();
    }
}
