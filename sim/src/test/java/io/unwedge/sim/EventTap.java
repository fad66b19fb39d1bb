package io.unwedge.sim;

import io.unwedge.core.Uevent;
import io.unwedge.host.netlink.Delivery;
import io.unwedge.host.netlink.UeventSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Reads a uevent source on its own thread so a test can wait for the next event with a bound. */
final class EventTap implements AutoCloseable {

    private final UeventSource source;
    private final BlockingQueue<Uevent> events = new LinkedBlockingQueue<>();
    private final Thread reader;

    EventTap(UeventSource source) {
        this(source, u -> true);
    }

    /** Only events {@code ours} accepts: in a private namespace the host's real uevents arrive too. */
    EventTap(UeventSource source, java.util.function.Predicate<Uevent> ours) {
        this.source = source;
        this.reader = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (source.receive() instanceof Delivery d && !(d instanceof Delivery.Closed)) {
                    if (d instanceof Delivery.Received(var u, var nanos) && ours.test(u)) events.add(u);
                }
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    /** The next event, or an AssertionError naming what was awaited. */
    Uevent next(Duration within, String what) throws InterruptedException {
        var u = events.poll(within.toMillis(), TimeUnit.MILLISECONDS);
        if (u == null) throw new AssertionError("no uevent within " + within + " while waiting for " + what);
        return u;
    }

    List<Uevent> next(int n, Duration within, String what) throws InterruptedException {
        var out = new ArrayList<Uevent>();
        for (int i = 0; i < n; i++) out.add(next(within, what + " (" + (i + 1) + "/" + n + ")"));
        return out;
    }

    List<Uevent> drain() {
        var out = new ArrayList<Uevent>();
        events.drainTo(out);
        return out;
    }

    @Override
    public void close() throws InterruptedException {
        source.close();
        reader.join(2000);
    }
}
