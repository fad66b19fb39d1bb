package io.unwedge.core;

import java.util.Optional;

/** A PCI function address, the BDF {@code DDDD:BB:DD.F} sysfs names devices by. */
public record PciAddress(int domain, int bus, int device, int function) implements Comparable<PciAddress> {

    public PciAddress {
        if (domain < 0 || domain > 0xffff) throw new IllegalArgumentException("domain out of range: " + domain);
        if (bus < 0 || bus > 0xff) throw new IllegalArgumentException("bus out of range: " + bus);
        if (device < 0 || device > 0x1f) throw new IllegalArgumentException("device out of range: " + device);
        if (function < 0 || function > 7) throw new IllegalArgumentException("function out of range: " + function);
    }

    /** Strict: exactly {@code DDDD:BB:DD.F}, lower- or upper-case hex, nothing around it. */
    public static Optional<PciAddress> parse(String s) {
        if (s == null || s.length() != 12 || s.charAt(4) != ':' || s.charAt(7) != ':' || s.charAt(10) != '.') {
            return Optional.empty();
        }
        int domain = hex(s, 0, 4), bus = hex(s, 5, 7), dev = hex(s, 8, 10), fn = hex(s, 11, 12);
        if (domain < 0 || bus < 0 || dev < 0 || fn < 0 || dev > 0x1f || fn > 7) return Optional.empty();
        return Optional.of(new PciAddress(domain, bus, dev, fn));
    }

    private static int hex(String s, int from, int to) {
        int v = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            // ASCII only: Character.digit also takes fullwidth and other scripts' digits
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        return v;
    }

    @Override
    public int compareTo(PciAddress o) {
        return toString().compareTo(o.toString());
    }

    @Override
    public String toString() {
        return String.format("%04x:%02x:%02x.%d", domain, bus, device, function);
    }
}
