package io.unwedge.bench;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult;
import io.unwedge.daemon.journal.Journal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What the journal costs, durably (WAL, synchronous=FULL, one transaction per call, as the daemon writes):
 * <ol>
 *   <li>a step record — intent then end — p50/p99 over {@code steps} steps (after 200 unmeasured);</li>
 *   <li>what a recovery pays before its unbind write — record the event, begin the recovery, the unbind
 *       intent — p50/p99 over 500;</li>
 *   <li>events recorded per second while {@code events} events are written, and the file's size after.</li>
 * </ol>
 * The figures are the disk's fsync more than SQLite's: run it on the filesystem {@code /var/lib/unwedge} is on.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp "bench/target/unwedge-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
 *     io.unwedge.bench.JournalBenchmark [dir=a new temp dir] [steps=2000] [events=100000]</pre>
 */
public final class JournalBenchmark {

    public static void main(String[] args) throws Exception {
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("unwedge-journal-bench");
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        int events = args.length > 2 ? Integer.parseInt(args[2]) : 100_000;
        Files.createDirectories(dir);
        if (Files.exists(dir.resolve(Journal.FILE))) throw new IllegalArgumentException(dir.resolve(Journal.FILE) + " exists: give an empty directory");
        var log = new EventLog(System.err, InstantSource.system(), EventLog.Level.WARN);
        var event = wedge(1);
        System.out.printf(Locale.ROOT, "journal %s on %s (%s)%n", dir.resolve(Journal.FILE), Files.getFileStore(dir).name(), Files.getFileStore(dir).type());

        try (var j = Journal.open(dir, InstantSource.system(), log)) {
            // 1. a step record: intent, then end
            long recovery = j.beginRecovery(j.recordEvent(event, InstantSource.system().instant()), event);
            var result = new StepResult(Step.UNBIND, StepResult.Outcome.OK, 12, "wrote 0000:06:00.0 to /sys/bus/pci/drivers/xe/unbind");
            long[] stepNanos = new long[steps];
            for (int i = -200; i < steps; i++) {
                long t0 = System.nanoTime();
                j.stepEnded(j.intent(recovery, Step.UNBIND), result);
                if (i >= 0) stepNanos[i] = System.nanoTime() - t0;
            }
            print("step record (intent + end)", stepNanos);

            // 2. before the unbind write: event, recovery, unbind intent
            long[] beforeUnbind = new long[500];
            for (int i = 0; i < beforeUnbind.length; i++) {
                long t0 = System.nanoTime();
                long id = j.beginRecovery(j.recordEvent(event, InstantSource.system().instant()), event);
                j.intent(id, Step.UNBIND);
                beforeUnbind[i] = System.nanoTime() - t0;
                j.endRecovery(id, new RecoveryReport(event, event.bdf(), Optional.of(RecoveryMethod.REBIND),
                        RecoveryReport.Result.RECOVERED, "bench", List.of(), Optional.of("card1"), 1, Optional.empty()));
            }
            print("event + recovery + unbind intent (journal cost before the unbind write)", beforeUnbind);

            // 3. events, one durable transaction each
            long before = Files.size(dir.resolve(Journal.FILE));
            long t0 = System.nanoTime();
            for (int i = 0; i < events; i++) j.recordEvent(wedge(1000 + i), InstantSource.system().instant());
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "%,d events recorded in %.1f s: %,.0f events/s%n", events, seconds, events / seconds);
            System.out.printf(Locale.ROOT, "file before the events: %,d bytes%n", before);
        }
        long size = Files.size(dir.resolve(Journal.FILE));
        System.out.printf(Locale.ROOT, "journal.db after %,d events (+ %,d step records, 501 recoveries), closed and checkpointed: %,d bytes (%.1f MiB, %.0f bytes/event)%n",
                events, steps + 200, size, size / 1048576.0, (double) size / events);
    }

    /** A wedge as xe sends it, with a task, and a seqnum. */
    static WedgedEvent wedge(long seqnum) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("PID", "4242");
        f.put("TASK", "glxgears");
        f.put("MAJOR", "226");
        f.put("MINOR", "1");
        f.put("DEVNAME", "dri/card1");
        f.put("DEVTYPE", "drm_minor");
        f.put("SEQNUM", Long.toString(seqnum));
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:02.0/0000:06:00.0/drm/card1", f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    private static void print(String what, long[] nanos) {
        var s = nanos.clone();
        Arrays.sort(s);
        System.out.printf(Locale.ROOT, "%s, n=%,d: p50 %.0f us, p99 %.0f us, max %.0f us%n", what, s.length,
                s[s.length / 2] / 1e3, s[(int) (s.length * 0.99)] / 1e3, s[s.length - 1] / 1e3);
    }
}
