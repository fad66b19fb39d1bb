package io.unwedge.host.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PrivateNetnsTest {

    private static String netns(String proc) throws Exception {
        return Files.readSymbolicLink(Path.of(proc, "ns/net")).toString();
    }

    @Test
    void onlyTheDedicatedThreadMoves() throws Exception {
        String before = netns("/proc/thread-self");
        try (var ns = Netns.createOrSkip()) {
            String inside = ns.call(() -> netns("/proc/thread-self"));
            String processSeenFromInside = ns.call(() -> netns("/proc/self"));

            assertThat(inside).startsWith("net:[").isNotEqualTo(processSeenFromInside);
            assertThat(processSeenFromInside).isEqualTo(before);
            assertThat(netns("/proc/thread-self")).isEqualTo(before);
            assertThat(netns("/proc/self")).isEqualTo(before);
            // Every call runs on the same thread, in the same namespace.
            assertThat(ns.call(() -> netns("/proc/thread-self"))).isEqualTo(inside);
        }
        assertThat(netns("/proc/thread-self")).isEqualTo(before);
    }

    @Test
    void callPassesResultsAndExceptionsThroughAndFailsAfterClose() throws Exception {
        var ns = Netns.createOrSkip();
        assertThat(ns.call(() -> 42)).isEqualTo(42);
        assertThatThrownBy(() -> ns.call(() -> { throw new FileNotFoundException("nope"); }))
                .isInstanceOf(FileNotFoundException.class).hasMessage("nope");
        ns.close();
        ns.close();
        assertThatThrownBy(() -> ns.call(() -> 1)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theProbeSaysWhyOrNothing() {
        var reason = PrivateNetns.unavailableReason();
        assertThat(reason).isSameAs(PrivateNetns.unavailableReason());  // probed once
        reason.ifPresent(r -> assertThat(r).isNotBlank());
    }
}
