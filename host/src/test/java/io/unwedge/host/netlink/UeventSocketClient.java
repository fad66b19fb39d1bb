package io.unwedge.host.netlink;

import java.nio.file.Path;
import java.time.Duration;

/** A peer in a process of its own (UeventSocketTest runs it as another uid): sends one wedge, prints the answer. */
public final class UeventSocketClient {

    private UeventSocketClient() {}

    public static void main(String[] args) throws Exception {
        var answer = UeventSocket.send(Path.of(args[0]), UeventSocketTest.wedge(77), Duration.ofSeconds(5));
        System.out.println(answer);
    }
}
