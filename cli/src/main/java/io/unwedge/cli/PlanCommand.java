package io.unwedge.cli;

import io.unwedge.core.Decision;
import io.unwedge.core.GpuDevice;
import io.unwedge.core.Planner;
import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.core.safety.Exclusion;
import io.unwedge.core.safety.Safety;
import io.unwedge.daemon.SafetyCheck;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.host.sysfs.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"What the daemon would do if DEVICE were wedged with --methods: the ladder of methods it would try, those it",
                "would skip, the safety verdict and the drain, each with its reason.",
                "Reads sysfs, the configuration and the journal; changes nothing."})
final class PlanCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DEVICE", description = "primary minor (card1) or PCI address (0000:06:00.0)") String device;
    @Option(names = "--methods", defaultValue = "rebind,bus-reset",
            description = "the WEDGED= value, as a driver sends it (default ${DEFAULT-VALUE})") String methods;
    @picocli.CommandLine.Mixin HostOptions host;
    @Option(names = "--config", description = "config file (default: /etc/unwedge/unwedge.toml on the real /sys; none for a virtual host)") Path config;
    @Option(names = "--json", description = "JSON instead of text") boolean json;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    private java.io.PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Override
    public Integer call() throws Exception {
        var topology = new Topology(host.sysfs());
        var d = UsersCommand.find(topology, device);
        var cfg = DaemonCommand.loadConfig(config, host.sysfs);
        var policy = cfg.recoveryPolicy();
        var event = wedge(d, methods);
        var hw = topology.hardware(d);
        var decision = Planner.decide(event, d, hw, policy.methods());
        Path state = host.stateDir(() -> cfg.daemon().stateDir());
        String safety;
        boolean allowed = true;
        if (!Files.isRegularFile(state.resolve(Journal.FILE))) {
            safety = "no journal at " + state.resolve(Journal.FILE) + ": no history to judge";
        } else {
            try (var j = Journal.openReadOnly(state, InstantSource.system())) {
                var v = SafetyCheck.check(j, d.bdf(), Instant.now(), policy.safety());
                allowed = v instanceof Safety.Verdict.Allow;
                safety = (allowed ? "allow: " : "deny: ") + v.reason()
                        + (v instanceof Safety.Verdict.Deny(var r, var q) && q ? "; it would be quarantined (" + policy.safety().quarantine() + ")" : "");
            }
        }
        var drain = cfg.drainFor(d.driver().orElse(null), d.bdf());
        String drainLine = drain.mode() + ", grace " + drain.grace().toMillis() + " ms" + (drain.force() ? ", force" : "");
        var keys = Exclusion.keys(d, hw);
        String exclusive = String.join(", ", keys) + "; at most " + policy.safety().maxConcurrent() + " recovery(ies) at once host-wide";

        if (json) {
            var ladder = new ArrayList<Json.Raw>();
            var skipped = new ArrayList<Json.Raw>();
            String kind;
            String handoff = null;
            switch (decision) {
                case Decision.Recover r -> {
                    kind = "recover";
                    for (var a : r.ladder()) ladder.add(new Json.Raw(Json.object("method", a.method().token(),
                            "steps", a.steps().stream().map(Step::toString).toList(), "why", a.why())));
                    r.skipped().forEach(s -> skipped.add(new Json.Raw(Json.object("method", s.method().token(), "why", s.why()))));
                }
                case Decision.Handoff h -> {
                    kind = "handoff";
                    handoff = h.to().kind() + (h.to().command().isEmpty() ? "" : ": " + String.join(" ", h.to().command()));
                    h.skipped().forEach(s -> skipped.add(new Json.Raw(Json.object("method", s.method().token(), "why", s.why()))));
                }
                case Decision.Telemetry t -> kind = "telemetry";
                case Decision.Refuse r -> kind = "refuse";
            }
            out().println(Json.object("card", d.card(), "bdf", d.bdf(), "driver", d.driver(), "methods", event.rawMethods(),
                    "decision", kind, "reason", decision.reason(), "ladder", new Json.Raw(Json.array(ladder)),
                    "skipped", new Json.Raw(Json.array(skipped)), "handoff", handoff, "safety", safety, "allowed", allowed,
                    "drain", drainLine, "exclusive", keys.stream().toList(), "max_concurrent", policy.safety().maxConcurrent(),
                    "quarantine", policy.safety().quarantine().toString()));
            return ExitCode.OK.code;
        }
        var out = out();
        out.println(d.card() + " " + d.bdf() + " driver=" + d.driver().orElse("(none)") + ", if wedged with WEDGED=" + event.rawMethods() + ":");
        switch (decision) {
            case Decision.Recover r -> {
                out.println("  decision: recover — " + r.reason());
                int i = 1;
                for (var a : r.ladder()) {
                    out.println("  " + i++ + ". " + a.method() + ": " + String.join(", ", a.steps().stream().map(Step::toString).toList()) + " — " + a.why());
                }
                r.skipped().forEach(s -> out.println("  skipped " + s.method() + " — " + s.why()));
                out.println("  if every attempt fails: quarantine (" + policy.safety().quarantine() + ") until `unwedge release " + d.bdf() + "`");
            }
            case Decision.Handoff h -> {
                out.println("  decision: hand off to " + h.to().kind()
                        + (h.to().command().isEmpty() ? "" : " (" + String.join(" ", h.to().command()) + ")") + " — " + h.reason());
                h.skipped().forEach(s -> out.println("  skipped " + s.method() + " — " + s.why()));
            }
            case Decision.Telemetry t -> out.println("  decision: telemetry only — " + t.reason());
            case Decision.Refuse r -> out.println("  decision: refuse — " + r.reason());
        }
        out.println("  safety: " + safety);
        out.println("  drain: " + drainLine);
        out.println("  exclusive: " + exclusive);
        return ExitCode.OK.code;
    }

    /** The event the kernel would send: its construction of WEDGED= (order, 23 characters) is WedgedEvent's to judge. */
    static WedgedEvent wedge(GpuDevice d, String methods) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", methods);
        f.put("DEVNAME", "dri/" + d.card());
        f.put("DEVTYPE", "drm_minor");
        f.put("SEQNUM", "0");
        var u = Uevent.of("change", "/" + d.sysPath() + "/drm/" + d.card(), f);
        return switch (WedgedEvent.recognise(u)) {
            case WedgedEvent.Wedged(var e) -> e;
            case WedgedEvent.NotWedged(var reason, var suspicious) -> throw new Main.UsageError("--methods '" + methods + "': " + reason);
        };
    }
}
