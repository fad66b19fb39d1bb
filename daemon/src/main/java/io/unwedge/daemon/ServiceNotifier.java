package io.unwedge.daemon;

/**
 * What the daemon tells its service manager (systemd's sd_notify, in production): when it is ready, a
 * one-line status, that it is alive, that it is stopping. Implementations never throw: a manager that
 * cannot be told is logged by the implementation and otherwise ignored.
 */
public interface ServiceNotifier {

    /** The event source is bound and the restart reconciliation handed out: wedges are heard from now on. */
    void ready(String status);

    /** A short summary, e.g. {@code "3 cards, last: card1 recovered 412 ms"}. */
    void status(String status);

    /** The watchdog ping: only sent while the event loop is alive ({@link Watchdog}). */
    void alive();

    void stopping();

    /** This notifier, running {@code then} right after READY is sent: the watchdog starts pinging only then. */
    default ServiceNotifier afterReady(Runnable then) {
        var self = this;
        return new ServiceNotifier() {
            @Override public void ready(String status) {
                self.ready(status);
                then.run();
            }
            @Override public void status(String status) { self.status(status); }
            @Override public void alive() { self.alive(); }
            @Override public void stopping() { self.stopping(); }
        };
    }

    ServiceNotifier NONE = new ServiceNotifier() {
        @Override public void ready(String status) {}
        @Override public void status(String status) {}
        @Override public void alive() {}
        @Override public void stopping() {}
    };
}
