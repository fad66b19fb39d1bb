package io.unwedge.core;

import java.util.Objects;

/** A payload that is not a kernel uevent, with the rule it broke and where. */
public record Rejected(Reason reason, String detail) implements Decoded {

    public enum Reason {
        /** zero bytes */
        EMPTY,
        /** longer than {@link UeventCodec#MAX_SIZE}, the kernel's own uevent buffer */
        TOO_LONG,
        /** no {@code action@/devpath} header (udev's "libudev" rebroadcast lands here too) */
        NO_HEADER,
        /** the last field is not NUL-terminated: truncated or not a uevent */
        NOT_NUL_TERMINATED,
        /** a byte sequence that is not UTF-8 */
        NOT_UTF8,
        /** a field without {@code =}, with an empty or odd key, or an empty field */
        MALFORMED_FIELD,
        /** the same key twice: the kernel never does it, a forger might */
        DUPLICATE_KEY,
        /** ACTION or DEVPATH missing */
        MISSING_KEY,
        /** ACTION/DEVPATH fields disagree with the header */
        HEADER_MISMATCH,
        /** SEQNUM is not an unsigned decimal */
        BAD_SEQNUM
    }

    public Rejected {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(detail, "detail");
    }

    @Override
    public String toString() {
        return reason.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + ": " + detail;
    }
}
