package io.unwedge.daemon.http;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;

/** Wedge events and recovery reports as the daemon's actors hand them out. */
final class Reports {

    private Reports() {}

    static WedgedEvent wedge(String card, String bdf, long seqnum) {
        return wedge(card, bdf, seqnum, "rebind,bus-reset");
    }

    /** @param methods the raw {@code WEDGED=} value */
    static WedgedEvent wedge(String card, String bdf, long seqnum, String methods) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", methods);
        f.put("DEVNAME", "dri/" + card);
        f.put("SEQNUM", Long.toString(seqnum));
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:02.0/" + bdf + "/drm/" + card, f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    /** @param method null: the report names none */
    static RecoveryReport report(WedgedEvent e, RecoveryMethod method, RecoveryReport.Result result, long millis, Long latencyMicros) {
        return report(e, method, result, millis, latencyMicros, "xe");
    }

    /** @param driver null: the report names none */
    static RecoveryReport report(WedgedEvent e, RecoveryMethod method, RecoveryReport.Result result, long millis, Long latencyMicros,
                                 String driver, StepResult... steps) {
        return new RecoveryReport(e, e.bdf(), Optional.ofNullable(method), result, "test", List.of(steps), Optional.empty(), millis,
                Optional.ofNullable(latencyMicros), Optional.ofNullable(driver));
    }

    static StepResult drain(StepResult.Outcome outcome) {
        return new StepResult(Step.DRAIN, outcome, 5, "test");
    }

    static StepResult step(Step step) {
        return new StepResult(step, StepResult.Outcome.OK, 5, "test");
    }
}
