package io.unwedge.host.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether this thread is in the host's network namespace, where injected uevents reach udevd. */
public final class NetNamespace {

    private NetNamespace() {}

    /**
     * True when the calling thread shares PID 1's network namespace. Where PID 1's namespace cannot be
     * read (a sandbox, no CAP_SYS_PTRACE), a namespace with any interface but {@code lo} is taken for
     * the host's: a private one made for rehearsal has only loopback. When nothing can be read, true:
     * assume the worst.
     */
    public static boolean isInitial(Path proc) {
        try {
            var self = Files.readSymbolicLink(proc.resolve("thread-self/ns/net"));
            try {
                return self.equals(Files.readSymbolicLink(proc.resolve("1/ns/net")));
            } catch (IOException e) {
                return hasNonLoopbackInterface(proc);
            }
        } catch (IOException | UnsupportedOperationException e) {
            return true;
        }
    }

    private static boolean hasNonLoopbackInterface(Path proc) {
        try {
            // /proc/thread-self/net/dev: two header lines, then "  name: counters"
            return Files.readAllLines(proc.resolve("thread-self/net/dev")).stream().skip(2)
                    .map(l -> l.strip().split(":", 2)[0])
                    .anyMatch(name -> !name.equals("lo"));
        } catch (IOException e) {
            return true;
        }
    }
}
