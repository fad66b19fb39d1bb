package io.unwedge.daemon.http;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.RecoveryReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;

/** Wedge events and recovery reports as the daemon's actors hand them out. */
final class Reports {

    private Reports() {}

    static WedgedEvent wedge(String card, String bdf, long seqnum) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("DEVNAME", "dri/" + card);
        f.put("SEQNUM", Long.toString(seqnum));
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:02.0/" + bdf + "/drm/" + card, f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    /** @param method null: the report names none */
    static RecoveryReport report(WedgedEvent e, RecoveryMethod method, RecoveryReport.Result result, long millis, Long latencyMicros) {
        return new RecoveryReport(e, e.bdf(), Optional.ofNullable(method), result, "test", List.of(), Optional.empty(), millis,
                Optional.ofNullable(latencyMicros));
    }
}
