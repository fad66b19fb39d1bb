package io.unwedge.host.procfs;

import io.unwedge.host.os.RawFiles;
import java.nio.charset.StandardCharsets;

/**
 * One line of {@code /proc/<pid>/maps}, read in place from the bytes the kernel wrote:
 * {@code range perms offset dev inode [path]}, e.g.
 * {@code 7f5093000000-7f5093001000 rw-s 00000000 00:05 1043 /dev/dri/renderD128}
 * (show_map_vma() in fs/proc/task_mmu.c; {@code dev} is {@code %02x:%02x}, {@code inode} decimal, the path
 * padded to a column and escaped by the kernel, so it holds no newline).
 *
 * <p>Why not a String per line: a scan reads every line of every process (tens of thousands) and keeps
 * almost none. {@link #parse} finds the fields and reads {@code dev} and {@code inode} as numbers; the caller
 * compares those first, and only a line that names the device becomes strings. One cursor is reused for
 * every line of one thread's walk. A line that does not have the shape is refused ({@code false}), never
 * thrown over.
 */
final class MapsCursor {

    private byte[] b;
    private int rangeStart, rangeEnd, permsStart, permsEnd, pathStart, end;
    private long dev, ino;

    /** Reads {@code b[start..end)} (without its newline); false when it is not a maps line. */
    boolean parse(byte[] b, int start, int end) {
        this.b = b;
        this.end = end;
        int at = skipSpaces(b, start, end);
        rangeStart = at;
        at = field(b, at, end);
        rangeEnd = at;
        if (rangeEnd == rangeStart) return false;
        at = skipSpaces(b, at, end);
        permsStart = at;
        at = field(b, at, end);
        permsEnd = at;
        if (permsEnd == permsStart) return false;
        at = skipSpaces(b, at, end);
        int offsetStart = at;
        at = field(b, at, end);
        if (at == offsetStart) return false;
        at = skipSpaces(b, at, end);
        // dev: hex major ':' hex minor
        long major = 0, minor = 0;
        int digits = 0;
        for (; at < end && b[at] != ':'; at++, digits++) {
            int h = hex(b[at]);
            if (h < 0 || digits == 8) return false;
            major = major << 4 | h;
        }
        if (digits == 0 || at == end) return false;
        at++;
        digits = 0;
        for (; at < end && b[at] != ' '; at++, digits++) {
            int h = hex(b[at]);
            if (h < 0 || digits == 8) return false;
            minor = minor << 4 | h;
        }
        if (digits == 0) return false;
        dev = RawFiles.packDev((int) major, (int) minor);
        at = skipSpaces(b, at, end);
        long inode = 0;
        digits = 0;
        for (; at < end && b[at] != ' '; at++, digits++) {
            int d = b[at] - '0';
            if (d < 0 || d > 9 || digits == 19) return false;
            inode = inode * 10 + d;
        }
        if (digits == 0 || inode < 0) return false;
        ino = inode;
        pathStart = skipSpaces(b, at, end);
        return true;
    }

    /** {@code dev} as {@link RawFiles#packDev} packs it. */
    long dev() {
        return dev;
    }

    long ino() {
        return ino;
    }

    boolean pathStartsWith(byte[] prefix) {
        if (end - pathStart < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) if (b[pathStart + i] != prefix[i]) return false;
        return true;
    }

    String range() {
        return ascii(rangeStart, rangeEnd);
    }

    String perms() {
        return ascii(permsStart, permsEnd);
    }

    /** The path as the kernel wrote it, trailing spaces dropped; "" for an anonymous mapping. */
    String path() {
        int e = end;
        while (e > pathStart && (b[e - 1] == ' ' || b[e - 1] == '\t')) e--;
        return new String(b, pathStart, e - pathStart, StandardCharsets.UTF_8);
    }

    private String ascii(int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static int skipSpaces(byte[] b, int at, int end) {
        while (at < end && b[at] == ' ') at++;
        return at;
    }

    private static int field(byte[] b, int at, int end) {
        while (at < end && b[at] != ' ') at++;
        return at;
    }

    private static int hex(byte c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
}
