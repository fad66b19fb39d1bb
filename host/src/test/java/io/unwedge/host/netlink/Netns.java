package io.unwedge.host.netlink;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.host.os.OsException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Shared fixtures for the tests that talk to the real kernel inside a private network namespace. */
final class Netns {

    /** A safety net only: every wait ends on an event long before this. */
    static final Duration SAFETY = Duration.ofSeconds(10);

    private static final ExecutorService WAITERS = Executors.newCachedThreadPool(
            Thread.ofPlatform().name("test-waiter-", 0).daemon().factory());

    private Netns() {}

    /** A private namespace, or a skipped test with the reason; on CI (CI=true) a failed one. */
    static PrivateNetns createOrSkip() throws OsException {
        var reason = PrivateNetns.unavailableReason();
        if (reason.isPresent()) {
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true but no private network namespace can be made: " + reason.get());
            }
            assumeTrue(false, "skipped, no private network namespace: " + reason.get());
        }
        return PrivateNetns.create();
    }

    /** Runs {@code task} on another thread and waits for it, at most {@link #SAFETY}. */
    static <T> T within(Callable<T> task) throws Exception {
        return WAITERS.submit(task).get(SAFETY.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * The next delivery that is about one of our events. The namespace belongs to the initial user
     * namespace, so the host's real uevents arrive too; those are skipped.
     */
    static Delivery nextOwn(UeventSource source, Predicate<Uevent> ours) throws IOException {
        for (;;) {
            var d = source.receive();
            if (d instanceof Delivery.Received r && !ours.test(r.event())) continue;
            return d;
        }
    }

    /** The xe capture from the shared vectors, without its SEQNUM: what a driver hands the kernel. */
    static Uevent wedgedVector() throws IOException {
        var shared = System.getenv().getOrDefault("UNWEDGE_SHARED", "/work/shared");
        var bytes = Files.readAllBytes(Path.of(shared, "vectors/uevents/xe-rebind-bus-reset.uevent"));
        var event = (Uevent) UeventCodec.decode(bytes);
        var fields = new LinkedHashMap<>(event.fields());
        fields.remove(Uevent.SEQNUM);
        return new Uevent(event.action(), event.devpath(), fields);
    }

    /** A harmless test event with a devpath no real device has. */
    static Uevent testEvent(String name) {
        return Uevent.of("change", "/devices/unwedge-test/" + name, java.util.Map.of("SUBSYSTEM", "unwedge-test"));
    }

    static boolean isTestEvent(Uevent e) {
        return e.devpath().startsWith("/devices/unwedge-test/");
    }
}
