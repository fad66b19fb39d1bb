package io.unwedge.cli;

import io.unwedge.core.Devpath;
import io.unwedge.core.PciAddress;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.QuarantineRow;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "release", mixinStandardHelpOptions = true,
        description = {"Ends a device's quarantine: the daemon recovers its next wedge again (it reads the journal at each wedge).",
                "A device quarantined unbound stays unbound unless --bind is given."})
final class ReleaseCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DEVICE",
            description = "PCI address (0000:06:00.0), or the card it had (card1; found in sysfs, or in the journal when unbound)") String device;
    @picocli.CommandLine.Mixin HostOptions host;
    @Option(names = "--bind", description = "also bind the device to the driver its last recovery unbound it from") boolean bind;
    @Option(names = "--json", description = "JSON instead of text") boolean json;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    private java.io.PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Override
    public Integer call() throws Exception {
        var topology = new Topology(host.sysfs());
        Path state = host.stateDir(() -> DaemonCommand.loadConfig(null, null).daemon().stateDir());
        if (!Files.isRegularFile(state.resolve(Journal.FILE))) {
            throw new Main.UsageError("no journal at " + state.resolve(Journal.FILE) + " (is --state-dir the daemon's?)");
        }
        try (var journal = Journal.openForUpdate(state, InstantSource.system())) {
            var bdf = bdf(topology, journal);
            var active = journal.quarantined().stream().filter(q -> q.bdf().equals(bdf)).findFirst();
            if (active.isEmpty()) {
                if (json) out().println(Json.object("bdf", bdf, "released", false, "reason", "not quarantined"));
                else spec.commandLine().getErr().println("unwedge: " + bdf + " is not quarantined");
                return ExitCode.FAILED.code;
            }
            String by = "cli:" + System.getProperty("user.name", "?");
            journal.release(bdf, by);
            Optional<String> bound = Optional.empty();
            if (bind) bound = Optional.of(bind(topology, journal, bdf));
            QuarantineRow q = active.get();
            if (json) {
                out().println(Json.object("bdf", bdf, "released", true, "since", q.since(), "reason", q.reason(), "mode", q.mode().toString(),
                        "by", by, "bind", bound));
            } else {
                out().println("released " + bdf + " (quarantined since " + q.since() + ", " + q.mode() + ": " + q.reason() + ")");
                bound.ifPresent(out()::println);
                if (!bind && topology.isPresent(bdf) && topology.isUnbound(bdf)) {
                    out().println(bdf + " has no driver: bind it with `unwedge release --bind`, or by hand");
                }
            }
            return ExitCode.OK.code;
        }
    }

    private PciAddress bdf(Topology topology, Journal journal) throws Exception {
        var parsed = PciAddress.parse(device);
        if (parsed.isPresent()) return parsed.get();
        if (!Devpath.isPrimaryMinorName(device)) throw new Main.UsageError("not a card (card1) or a PCI address (0000:06:00.0): " + device);
        var now = topology.cards().stream().filter(d -> d.card().equals(device)).findFirst();
        if (now.isPresent()) return now.get().bdf();
        // quarantined unbound, it has no card now: the journal knows the card it had
        for (var q : journal.quarantined()) {
            if (!journal.history(Optional.of(q.bdf()), Optional.of(device), Optional.empty(), 1).isEmpty()) return q.bdf();
        }
        throw new Main.NoSuchDevice("no " + device + " in sysfs, and no quarantined device that had it in the journal");
    }

    /** Binds the device to the driver the journal says its last recovery unbound it from. */
    private static String bind(Topology topology, Journal journal, PciAddress bdf) throws Exception {
        if (!topology.isPresent(bdf)) return "not bound: " + bdf + " is not in sysfs (echo 1 > " + topology.sysfs().pciRescan() + " brings removed devices back)";
        if (!topology.isUnbound(bdf)) return "not bound: " + bdf + " has a driver already";
        var driver = journal.history(Optional.of(bdf), Optional.empty(), Optional.empty(), 20).stream()
                .flatMap(r -> r.driver().stream()).findFirst();
        if (driver.isEmpty()) throw new Main.Refused("the journal does not say which driver " + bdf + " had; bind it by hand");
        Path attribute = topology.sysfs().pciDriver(driver.get()).resolve("bind");
        Sysfs.writeAttribute(attribute, bdf + "\n");
        return "wrote " + bdf + " to " + attribute + "; `unwedge status` shows when its card is back";
    }
}
