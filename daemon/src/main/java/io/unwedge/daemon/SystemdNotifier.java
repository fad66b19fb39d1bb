package io.unwedge.daemon;

import io.unwedge.host.os.OsException;
import io.unwedge.host.os.SdNotify;

/**
 * {@link ServiceNotifier} over sd_notify. A notification that cannot be sent (the manager gone, or not
 * listening) is logged and ignored: the daemon's job is the GPUs, and a manager that misses READY fails
 * the start by its own timeout anyway. Watchdog ping failures are logged once until one succeeds again,
 * so that a missing manager does not fill the log every 15 seconds.
 */
public final class SystemdNotifier implements ServiceNotifier {

    private final SdNotify notify;
    private final EventLog log;
    private volatile boolean pingFailing;

    public SystemdNotifier(SdNotify notify, EventLog log) {
        this.notify = notify;
        this.log = log;
    }

    @Override
    public void ready(String status) {
        send("READY", () -> notify.ready(status));
        if (notify.enabled()) log.info("sd-notify-ready", "socket", notify.target().orElseThrow(), "status", status);
    }

    @Override
    public void status(String status) {
        send("STATUS", () -> notify.status(status));
    }

    @Override
    public void alive() {
        try {
            notify.watchdog();
            pingFailing = false;
        } catch (OsException e) {
            if (!pingFailing) log.warn("sd-notify-failed", "state", "WATCHDOG", "error", e.getMessage(), "ignoring");
            pingFailing = true;
        }
    }

    @Override
    public void stopping() {
        send("STOPPING", notify::stopping);
    }

    private interface Send {
        void run() throws OsException;
    }

    private void send(String state, Send send) {
        try {
            send.run();
        } catch (OsException e) {
            log.warn("sd-notify-failed", "state", state, "error", e.getMessage(), "ignoring");
        }
    }
}
