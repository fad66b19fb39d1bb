package io.unwedge.daemon;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A {@link ServiceNotifier} that keeps what it was told, as sd_notify states. */
final class RecordingNotifier implements ServiceNotifier {

    final List<String> states = new CopyOnWriteArrayList<>();

    @Override public void ready(String status) { states.add("READY=1\nSTATUS=" + status); }
    @Override public void status(String status) { states.add("STATUS=" + status); }
    @Override public void alive() { states.add("WATCHDOG=1"); }
    @Override public void stopping() { states.add("STOPPING=1"); }

    long pings() {
        return states.stream().filter("WATCHDOG=1"::equals).count();
    }
}
