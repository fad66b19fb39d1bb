package io.unwedge.core.holders;

import java.util.Objects;
import io.unwedge.core.PciAddress;

/**
 * One DRM client, the kernel's {@code struct drm_file}: the key is {@code (drm-pdev, drm-client-id)}.
 * A descriptor inherited by a child shows the same id in both processes: one client, two holders.
 */
public record DrmClient(PciAddress pdev, long clientId) implements Comparable<DrmClient> {
    public DrmClient {
        Objects.requireNonNull(pdev);
        if (clientId < 0) throw new IllegalArgumentException("negative client id: " + clientId);
    }

    @Override
    public int compareTo(DrmClient o) {
        int c = pdev.compareTo(o.pdev);
        return c != 0 ? c : Long.compare(clientId, o.clientId);
    }

    @Override
    public String toString() {
        return pdev + "#" + clientId;
    }
}
