package io.unwedge.host.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.host.os.Sockets;
import io.unwedge.host.os.Sockets.NetlinkAddress;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * What the kernel really puts on an injected uevent, below the trust checks: documents the facts the
 * checks rely on, so a kernel that changes them fails here first.
 */
class KernelBehaviourTest {

    @Test
    void injectedEventsComeFromPortZeroWithTheInjectorsCredentials() throws Exception {
        try (var netns = Netns.createOrSkip();
             var injector = netns.call(KernelUeventInjector::open);
             var raw = netns.call(() -> Sockets.socket(Sockets.AF_NETLINK, Sockets.SOCK_RAW | Sockets.SOCK_CLOEXEC,
                     Sockets.NETLINK_KOBJECT_UEVENT, "raw listener"))) {
            Sockets.setIntOption(raw, Sockets.SOL_SOCKET, Sockets.SO_PASSCRED, 1);
            Sockets.bind(raw, new NetlinkAddress(0, NetlinkUeventSource.KERNEL_GROUP));
            assertThat(Sockets.localAddress(raw).portId()).isNotZero();

            injector.send(Netns.testEvent("credentials"));
            try (var arena = Arena.ofConfined()) {
                var buffer = arena.allocate(8192);
                Sockets.Datagram d;
                do {  // skip the host's own uevents, which carry pid 0
                    d = Netns.within(() -> Sockets.recvmsg(raw, buffer, 0)).orElseThrow();
                } while (!new String(buffer.asSlice(0, d.length()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        java.nio.charset.StandardCharsets.UTF_8).contains("/devices/unwedge-test/credentials"));

                assertThat(d.sender()).contains(new NetlinkAddress(0, NetlinkUeventSource.KERNEL_GROUP));
                // The kernel copies the request's control block, so the broadcast carries the injector's
                // process credentials: uid 0 like a real event, but the pid is ours, not 0.
                var creds = d.credentials().orElseThrow();
                assertThat(creds.uid()).isZero();
                assertThat(creds.gid()).isZero();
                assertThat((long) creds.pid()).isEqualTo(ProcessHandle.current().pid());
            }
        }
    }
}
