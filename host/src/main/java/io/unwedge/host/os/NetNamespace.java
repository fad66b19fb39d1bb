package io.unwedge.host.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Which network namespace this process is in, by the kernel's own names ({@code net:[4026531840]}). */
public final class NetNamespace {

    private NetNamespace() {}

    /**
     * Whether the calling thread shares PID 1's network namespace: there, injected uevents would reach the
     * host's udevd and every other listener. When that cannot be read, the answer is "yes": assume the worst.
     */
    public static boolean isInitial(Path proc) {
        try {
            return Files.readSymbolicLink(proc.resolve("thread-self/ns/net"))
                    .equals(Files.readSymbolicLink(proc.resolve("1/ns/net")));
        } catch (IOException | UnsupportedOperationException e) {
            return true;
        }
    }
}
