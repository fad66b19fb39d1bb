package io.unwedge.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.SequencedMap;

/**
 * One kernel uevent as it was on the wire: the header's action and devpath and every KEY=VALUE field
 * in the kernel's order (ACTION and DEVPATH included). Sealed at birth: it never re-reads sysfs, because
 * by the time it is looked at the device may be gone.
 */
public record Uevent(String action, String devpath, SequencedMap<String, String> fields) implements Decoded {

    public static final String ACTION = "ACTION";
    public static final String DEVPATH = "DEVPATH";
    public static final String SUBSYSTEM = "SUBSYSTEM";
    public static final String SEQNUM = "SEQNUM";

    public Uevent {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(devpath, "devpath");
        if (!UeventCodec.isAction(action)) {
            throw new IllegalArgumentException("bad action: " + action);
        }
        if (!devpath.startsWith("/") || devpath.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad devpath: " + devpath);
        }
        var copy = new LinkedHashMap<String, String>(fields);
        for (var e : copy.entrySet()) {
            if (!UeventCodec.isKey(e.getKey())) throw new IllegalArgumentException("bad key: " + e.getKey());
            if (e.getValue().indexOf('\0') >= 0) throw new IllegalArgumentException("NUL in value of " + e.getKey());
        }
        if (!action.equals(copy.get(ACTION)) || !devpath.equals(copy.get(DEVPATH))) {
            throw new IllegalArgumentException("ACTION/DEVPATH fields must match the header");
        }
        var seqnum = copy.get(SEQNUM);
        if (seqnum != null && !UeventCodec.isSeqnum(seqnum)) throw new IllegalArgumentException("SEQNUM not an unsigned decimal: " + seqnum);
        fields = Collections.unmodifiableSequencedMap(copy);
    }

    /** Builds an event the way the kernel lays it out: ACTION, DEVPATH, then {@code rest} in order. */
    public static Uevent of(String action, String devpath, Map<String, String> rest) {
        var f = new LinkedHashMap<String, String>();
        f.put(ACTION, action);
        f.put(DEVPATH, devpath);
        rest.forEach((k, v) -> {
            if (k.equals(ACTION) || k.equals(DEVPATH)) throw new IllegalArgumentException(k + " is set from the header");
            f.put(k, v);
        });
        return new Uevent(action, devpath, f);
    }

    public String get(String key) {
        return fields.get(key);
    }

    public String subsystem() {
        return fields.get(SUBSYSTEM);
    }

    /** The kernel appends SEQNUM to every event it sends; the codec has checked it is a number. */
    public OptionalLong seqnum() {
        var s = fields.get(SEQNUM);
        return s == null ? OptionalLong.empty() : OptionalLong.of(Long.parseUnsignedLong(s));
    }

    /** The same event with SEQNUM set last, as the kernel does on delivery. */
    public Uevent withSeqnum(long seqnum) {
        var f = new LinkedHashMap<String, String>(fields);
        f.remove(SEQNUM);
        f.put(SEQNUM, Long.toUnsignedString(seqnum));
        return new Uevent(action, devpath, f);
    }

    @Override
    public String toString() {
        return action + "@" + devpath + " " + fields;
    }
}
