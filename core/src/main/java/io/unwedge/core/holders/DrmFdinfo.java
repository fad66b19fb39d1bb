package io.unwedge.core.holders;

import io.unwedge.core.PciAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What unwedge reads from one {@code /proc/<pid>/fdinfo/<fd>} (contract §6): the DRM client keys
 * ({@code drm-driver}, {@code drm-client-id}, {@code drm-pdev}, {@code drm-client-name}) and a dma-buf's
 * {@code exp_name}. Everything else ({@code drm-engine-*}, {@code drm-memory-*}, {@code pos}, …) is skipped.
 *
 * <p>{@link #parse} is total: any text gives a value. A line without a colon, a key it does not know, or a
 * value it cannot read (a client id that is not a number, a pdev that is not a BDF) is skipped on its own;
 * the rest of the file still counts. The first occurrence of a key wins, as a reader scanning top-down
 * would take it. Values are trimmed of the tabs and spaces the kernel pads them with.
 *
 * @param pdev       {@code drm-pdev}, PCI devices only
 * @param rawPdev    the {@code drm-pdev} text as given, also when it is not a BDF (e.g. a platform device)
 */
public record DrmFdinfo(Optional<String> driver, OptionalLong clientId, Optional<PciAddress> pdev,
                        Optional<String> rawPdev, Optional<String> clientName, Optional<String> expName) {

    /** Longest value kept; fdinfo lines are short, anything longer is not something the kernel wrote. */
    static final int MAX_VALUE = 256;

    public static final DrmFdinfo EMPTY = new DrmFdinfo(Optional.empty(), OptionalLong.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty());

    public DrmFdinfo {
        Objects.requireNonNull(driver);
        Objects.requireNonNull(clientId);
        Objects.requireNonNull(pdev);
        Objects.requireNonNull(rawPdev);
        Objects.requireNonNull(clientName);
        Objects.requireNonNull(expName);
    }

    /** A DRM file: {@code drm-driver} is the one mandatory key. */
    public boolean isDrm() {
        return driver.isPresent();
    }

    /** A dma-buf: its fdinfo carries {@code exp_name}. */
    public boolean isDmaBuf() {
        return expName.isPresent();
    }

    /** The client key {@code (pdev, client-id)} when both are there. */
    public Optional<DrmClient> client() {
        return pdev.isPresent() && clientId.isPresent()
                ? Optional.of(new DrmClient(pdev.get(), clientId.getAsLong()))
                : Optional.empty();
    }

    public static DrmFdinfo parse(String text) {
        if (text == null || text.isEmpty()) return EMPTY;
        String driver = null, clientName = null, expName = null, rawPdev = null;
        Long clientId = null;
        PciAddress pdev = null;
        for (String line : text.split("\n", -1)) {
            int colon = line.indexOf(':');
            if (colon <= 0) continue;
            String key = line.substring(0, colon);
            String value = clean(line.substring(colon + 1));
            if (value == null) continue;
            switch (key) {
                case "drm-driver" -> { if (driver == null && !value.isEmpty()) driver = value; }
                case "drm-client-name" -> { if (clientName == null) clientName = value; }
                case "exp_name" -> { if (expName == null && !value.isEmpty()) expName = value; }
                case "drm-client-id" -> { if (clientId == null) clientId = unsigned(value); }
                case "drm-pdev" -> {
                    if (rawPdev == null && !value.isEmpty()) {
                        rawPdev = value;
                        pdev = PciAddress.parse(value).orElse(null);
                    }
                }
                default -> { }
            }
        }
        return new DrmFdinfo(Optional.ofNullable(driver), clientId == null ? OptionalLong.empty() : OptionalLong.of(clientId),
                Optional.ofNullable(pdev), Optional.ofNullable(rawPdev), Optional.ofNullable(clientName), Optional.ofNullable(expName));
    }

    /** The value without padding; null when it is too long or holds control characters. */
    private static String clean(String raw) {
        String v = raw.strip();
        if (v.length() > MAX_VALUE) return null;
        for (int i = 0; i < v.length(); i++) {
            if (Character.isISOControl(v.charAt(i)) && v.charAt(i) != '\t') return null;
        }
        return v;
    }

    /** A decimal u64 that fits a long (client ids are small counters); null otherwise. */
    private static Long unsigned(String v) {
        if (v.isEmpty() || v.length() > 18) return null;
        for (int i = 0; i < v.length(); i++) if (v.charAt(i) < '0' || v.charAt(i) > '9') return null;
        return Long.parseLong(v);
    }
}
