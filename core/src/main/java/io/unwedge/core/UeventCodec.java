package io.unwedge.core;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;

/**
 * The kernel's uevent wire format (lib/kobject_uevent.c): {@code action@devpath\0} then
 * {@code KEY=VALUE\0} for every field. Decoding is total: any byte sequence gives a {@link Uevent} or
 * a {@link Rejected} with the reason, so hostile input can be counted and dropped, never thrown.
 */
public final class UeventCodec {

    /** UEVENT_BUFFER_SIZE in include/linux/kobject.h; nothing the kernel sends is longer. */
    public static final int MAX_SIZE = 8192;

    private static final String TASK = "TASK";

    private UeventCodec() {}

    public static Decoded decode(byte[] bytes) {
        return decode(bytes, 0, bytes.length);
    }

    public static Decoded decode(byte[] buf, int off, int len) {
        if (len <= 0) return new Rejected(Rejected.Reason.EMPTY, "no bytes");
        if (len > MAX_SIZE) return new Rejected(Rejected.Reason.TOO_LONG, len + " bytes, limit " + MAX_SIZE);
        if (buf[off + len - 1] != 0) {
            return new Rejected(Rejected.Reason.NOT_NUL_TERMINATED, "last byte is not NUL");
        }
        // The header is checked on the bytes, before UTF-8: '@' and '/' never occur inside a multi-byte
        // sequence, and udev's binary "libudev" rebroadcast (magic 0xfeedcafe) is then named for what it is.
        if (!headerHasAtSlash(buf, off, len)) return new Rejected(Rejected.Reason.NO_HEADER, "no action@/devpath header");
        String text;
        boolean replaced = false;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(buf, off, len - 1))
                    .toString();
        } catch (CharacterCodingException e) {
            // tolerated in TASK alone (checked below), where U+FFFD stands for each bad sequence
            text = new String(buf, off, len - 1, StandardCharsets.UTF_8);
            replaced = true;
        }
        int end = text.indexOf('\0');
        String header = end < 0 ? text : text.substring(0, end);
        int at = header.indexOf("@/");
        if (at <= 0) return new Rejected(Rejected.Reason.NO_HEADER, "no action@/devpath header");
        String action = header.substring(0, at);
        String devpath = header.substring(at + 1);
        if (!isAction(action)) return new Rejected(Rejected.Reason.NO_HEADER, "bad action '" + printable(action) + "'");

        var fields = new LinkedHashMap<String, String>();
        if (end >= 0) {
            for (String field : text.substring(end + 1).split("\0", -1)) {
                int eq = field.indexOf('=');
                if (eq < 0) return new Rejected(Rejected.Reason.MALFORMED_FIELD, "field without '=': '" + printable(field) + "'");
                String key = field.substring(0, eq);
                if (!isKey(key)) return new Rejected(Rejected.Reason.MALFORMED_FIELD, "bad key '" + printable(key) + "'");
                if (fields.putIfAbsent(key, field.substring(eq + 1)) != null) {
                    return new Rejected(Rejected.Reason.DUPLICATE_KEY, "key " + key + " appears twice");
                }
            }
        }
        if (replaced) {
            // TASK is the guilty process's comm, copied byte for byte: any bytes a process named itself (prctl),
            // cut at 15 bytes, maybe inside a character. Losing the wedge for it would be worse than a '\uFFFD'.
            if (header.indexOf('\uFFFD') >= 0) return new Rejected(Rejected.Reason.NOT_UTF8, "invalid UTF-8 in the header");
            for (var f : fields.entrySet()) {
                if (!f.getKey().equals(TASK) && f.getValue().indexOf('\uFFFD') >= 0) {
                    return new Rejected(Rejected.Reason.NOT_UTF8, "invalid UTF-8 in " + f.getKey());
                }
            }
        }
        String a = fields.get(Uevent.ACTION), d = fields.get(Uevent.DEVPATH);
        if (a == null || d == null) return new Rejected(Rejected.Reason.MISSING_KEY, a == null ? "no ACTION" : "no DEVPATH");
        if (!a.equals(action) || !d.equals(devpath)) {
            return new Rejected(Rejected.Reason.HEADER_MISMATCH, "header says " + action + "@" + printable(devpath));
        }
        String seq = fields.get(Uevent.SEQNUM);
        if (seq != null && !isSeqnum(seq)) return new Rejected(Rejected.Reason.BAD_SEQNUM, "SEQNUM='" + printable(seq) + "'");
        return new Uevent(action, devpath, fields);
    }

    /** The exact bytes the kernel would send for {@code event}; {@code decode(encode(e))} gives {@code e} back. */
    public static byte[] encode(Uevent event) {
        var out = new ByteArrayOutputStream(256);
        out.writeBytes((event.action() + "@" + event.devpath()).getBytes(StandardCharsets.UTF_8));
        out.write(0);
        event.fields().forEach((k, v) -> {
            out.writeBytes((k + "=" + v).getBytes(StandardCharsets.UTF_8));
            out.write(0);
        });
        return out.toByteArray();
    }

    private static boolean headerHasAtSlash(byte[] buf, int off, int len) {
        for (int i = off; i < off + len - 1 && buf[i] != 0; i++) {
            if (buf[i] == '@' && buf[i + 1] == '/') return true;
        }
        return false;
    }

    /** Keys are what add_uevent_var() callers use: upper-case letters, digits and underscores. */
    static boolean isKey(String key) {
        if (key.isEmpty()) return false;
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || (c >= 'a' && c <= 'z'))) return false;
        }
        return true;
    }

    static boolean isAction(String action) {
        for (int i = 0; i < action.length(); i++) {
            char c = action.charAt(i);
            if (!(c >= 'a' && c <= 'z') && c != '_') return false;
        }
        return !action.isEmpty();
    }

    static boolean isSeqnum(String s) {
        if (s.isEmpty() || s.length() > 20) return false;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < '0' || s.charAt(i) > '9') return false;
        try {
            Long.parseUnsignedLong(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Hostile text goes into log lines: keep it short and visible. */
    static String printable(CharSequence s) {
        var b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 80; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) b.append(String.format("\\x%02x", (int) c));
            else b.append(c);
        }
        if (s.length() > 80) b.append('…');
        return b.toString();
    }
}
