package io.unwedge.host.netlink;

/** What a source has seen since it was opened. */
public record Counters(long received, long spoofed, long malformed, long truncated, long overflows) {}
