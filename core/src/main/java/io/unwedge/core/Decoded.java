package io.unwedge.core;

/** What decoding a netlink payload gives: a {@link Uevent} or a {@link Rejected} naming why not. Never an exception. */
public sealed interface Decoded permits Uevent, Rejected {}
