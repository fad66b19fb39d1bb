package io.unwedge.daemon;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The service manager's watchdog (systemd {@code WatchdogSec=}, {@code $WATCHDOG_USEC}): pings at half the
 * interval, as sd_watchdog_enabled(3) advises, and only while the event loop is alive
 * ({@link LoopHeartbeat#alive}: waiting in receive, or working for less than the interval). A stuck loop
 * gets no ping, once, with an error line, and the manager kills and restarts the daemon; the journal then
 * lets the next daemon finish what this one was doing.
 *
 * <p>A timer rather than a wait on events is the point here: the ping must come when nothing happens.
 */
public final class Watchdog implements AutoCloseable {

    private final LoopHeartbeat heartbeat;
    private final Duration interval;
    private final ServiceNotifier notifier;
    private final EventLog log;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("unwedge-watchdog").unstarted(r));
    private boolean withheld; // only touched on the timer thread

    public Watchdog(LoopHeartbeat heartbeat, Duration interval, ServiceNotifier notifier, EventLog log) {
        if (interval.isNegative() || interval.isZero()) throw new IllegalArgumentException("watchdog interval " + interval);
        this.heartbeat = heartbeat;
        this.interval = interval;
        this.notifier = notifier;
        this.log = log;
    }

    public void start() {
        long period = Math.max(1, interval.toNanos() / 2);
        timer.scheduleAtFixedRate(this::tick, 0, period, TimeUnit.NANOSECONDS);
        log.info("watchdog", "interval_ms", interval.toMillis(), "ping_ms", period / 1_000_000, "pinging the service manager while the event loop is alive");
    }

    /** One check: a ping when the loop is alive, else nothing (said once per stall). */
    void tick() {
        if (heartbeat.hasEnded()) return; // stopping: the manager was told STOPPING=1, nothing to withhold
        if (heartbeat.alive(interval)) {
            if (withheld) log.info("watchdog-resumed", "the event loop is alive again");
            withheld = false;
            notifier.alive();
        } else if (!withheld) {
            withheld = true;
            log.error("watchdog-withheld", "busy_ms", heartbeat.busyFor().toMillis(), "interval_ms", interval.toMillis(),
                    "the event loop has not returned to receive within the watchdog interval; not pinging, the service manager will restart the daemon");
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
