package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.safety.QuarantineMode;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.host.netlink.InProcessUevents;
import io.unwedge.sim.DriverModel;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.VirtualHost;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `plan` and `release`, in-process, on a virtual host's tree and journal. */
class PlanReleaseTest {

    @TempDir Path dir;

    static ConfigCommandTest.Result run(String... args) {
        return ConfigCommandTest.run(args);
    }

    VirtualHost host(VirtualHost.Options options) throws Exception {
        return VirtualHost.create(dir.resolve("host"), 2, GpuModel.XE, 0, options);
    }

    static Journal journal(VirtualHost host) throws Exception {
        return Journal.open(Files.createDirectories(host.root().resolve("state")), InstantSource.system(),
                new EventLog(new PrintStream(OutputStream.nullOutputStream()), InstantSource.system(), EventLog.Level.ERROR));
    }

    @Test
    void planShowsTheLadderTheSkipsTheSafetyAndWhatIsHeldAlone() throws Exception {
        var host = host(VirtualHost.Options.DEFAULT);
        var r = run("plan", "card1", "--sysfs", host.sys().toString(), "--methods", "rebind,bus-reset");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("card1 0000:06:00.0 driver=xe, if wedged with WEDGED=rebind,bus-reset:",
                "1. rebind: drain, unbind, bind, settle", "2. bus-reset: drain, unbind, reset, bind, settle",
                "1 sibling function", "quarantine (unbound)", "safety: no journal", "drain: terminate, grace 10000 ms",
                "exclusive: bus 0000:06, slot 2");
    }

    @Test
    void planSaysWhyAMethodIsSkippedAndWhenItAllGoesToTheUnknownPolicy() throws Exception {
        var host = host(new VirtualHost.Options(true, true, false));
        var r = run("plan", "0000:03:00.0", "--sysfs", host.sys().toString(), "--methods", "cold-reset", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"decision\": \"handoff\"", "\"handoff\": \"alert\"", "no power-controllable slot");
        var bad = run("plan", "card0", "--sysfs", host.sys().toString(), "--methods", "bus-reset,rebind");
        assertThat(bad.code()).as("out of order: the kernel never sends it, a driver bug → unknown").isZero();
        assertThat(bad.out()).contains("hand off to alert");
        assertThat(run("plan", "card7", "--sysfs", host.sys().toString()).code()).isEqualTo(ExitCode.NO_DEVICE.code);
    }

    @Test
    void planReadsTheJournalForTheBudgetAndQuarantine() throws Exception {
        var host = host(VirtualHost.Options.DEFAULT);
        try (var j = journal(host)) {
            j.quarantine(host.gpus().getFirst().bdf(), "flapping", QuarantineMode.UNBOUND);
        }
        var r = run("plan", "card0", "--sysfs", host.sys().toString());
        assertThat(r.out()).contains("safety: deny: quarantined since", "flapping", "unwedge release 0000:03:00.0");
    }

    @Test
    void releaseEndsAQuarantineOnceAndSaysWhenThereIsNone() throws Exception {
        var host = host(VirtualHost.Options.DEFAULT);
        var bdf = host.gpus().getFirst().bdf();
        try (var j = journal(host)) {
            j.quarantine(bdf, "every method failed", QuarantineMode.EXCLUDED);
        }
        var r = run("release", "card0", "--sysfs", host.sys().toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("released 0000:03:00.0", "excluded: every method failed");
        try (var j = journal(host)) {
            assertThat(j.quarantined()).isEmpty();
        }
        var again = run("release", "0000:03:00.0", "--sysfs", host.sys().toString());
        assertThat(again.code()).isEqualTo(ExitCode.FAILED.code);
        assertThat(again.err()).contains("0000:03:00.0 is not quarantined");
        assertThat(run("release", "card0", "--sysfs", host.sys().toString(), "--state-dir", dir.resolve("nowhere").toString()).code())
                .isEqualTo(ExitCode.USAGE.code);
    }

    @Test
    void releaseNeverMigratesNorReplacesTheDaemonsJournal() throws Exception {
        var host = host(VirtualHost.Options.DEFAULT);
        var bdf = host.gpus().getFirst().bdf();
        try (var j = journal(host)) {
            j.quarantine(bdf, "every method failed", QuarantineMode.EXCLUDED);
        }
        var file = host.root().resolve("state").resolve(Journal.FILE);
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file); var st = c.createStatement()) {
            st.execute("UPDATE schema_version SET version = 4"); // as a daemon of the version before left it (the tables aside)
        }
        var r = run("release", "card0", "--sysfs", host.sys().toString());
        assertThat(r.code()).as("not a bug: exit 1").isEqualTo(ExitCode.FAILED.code);
        assertThat(r.err()).contains("schema is version 4", "start the daemon once to migrate it");
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file); var st = c.createStatement();
             var rs = st.executeQuery("SELECT version FROM schema_version")) {
            rs.next();
            assertThat(rs.getInt(1)).as("left for the daemon to migrate").isEqualTo(4);
        }
        Files.writeString(file, "not a database, and not for `release` to move aside");
        var corrupt = run("release", "card0", "--sysfs", host.sys().toString());
        assertThat(corrupt.code()).isEqualTo(ExitCode.FAILED.code);
        assertThat(file).hasContent("not a database, and not for `release` to move aside");
        try (var names = Files.list(file.getParent())) {
            assertThat(names.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("corrupt"));
        }
    }

    @Test
    void releaseBindFindsAnUnboundDeviceByItsOldCardAndBindsItToItsDriver() throws Exception {
        var host = host(VirtualHost.Options.DEFAULT);
        var gpu = host.gpus().get(1);
        var bus = new InProcessUevents();
        try (var model = new DriverModel(host, bus.sink(), Duration.ofMillis(10), l -> {})) {
            model.start();
            // a recovery unbound card1 and the quarantine left it so
            try (var j = journal(host)) {
                var event = PlanCommand.wedge(host.gpus().stream().map(g -> new io.unwedge.host.sysfs.Topology(new io.unwedge.host.sysfs.Sysfs(host.sys()))
                        .byBdf(g.bdf()).orElseThrow()).toList().get(1), "rebind");
                long id = j.beginRecovery(j.recordEvent(event, java.time.Instant.now()), event);
                j.driver(id, "xe");
                j.quarantine(gpu.bdf(), "every method failed", QuarantineMode.UNBOUND);
            }
            io.unwedge.host.sysfs.Sysfs.writeAttribute(host.sys().resolve("bus/pci/drivers/xe/unbind"), gpu.bdf() + "\n");
            var topology = new io.unwedge.host.sysfs.Topology(new io.unwedge.host.sysfs.Sysfs(host.sys()));
            waitFor(() -> topology.isUnbound(gpu.bdf()));

            var r = run("release", "card1", "--sysfs", host.sys().toString(), "--bind");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("released 0000:06:00.0", "wrote 0000:06:00.0 to", "drivers/xe/bind");
            waitFor(() -> topology.isUp(gpu.bdf()));
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("not within 10 s");
            Thread.sleep(10); // the simulator's driver works on its own thread; this test has no uevent to wait on
        }
    }
}
