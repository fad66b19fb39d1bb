package io.unwedge.sim;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.TaskInfo;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Consumer;

/**
 * The driver model's end of {@code sim/requests} ({@link SimControl} is the other): a request is a
 * properties file renamed in as {@code ID.req}; the answer, {@code ok …} or {@code error …}, is renamed
 * in as {@code ID.done}. Each op calls the model's public API, so a request can do nothing a test cannot.
 */
final class Requests {

    private final DriverModel model;
    private final VirtualHost host;
    private final Consumer<String> error;

    Requests(DriverModel model, VirtualHost host, Consumer<String> error) {
        this.model = model;
        this.host = host;
        this.error = error;
    }

    /** Requests written while no model ran, oldest name first. */
    void handleWaiting() throws IOException {
        try (var s = Files.list(host.requests())) {
            for (Path p : s.filter(p -> p.toString().endsWith(".req")).sorted().toList()) handle(p);
        }
    }

    void handle(Path file) {
        if (!Files.exists(file)) return;
        var p = new Properties();
        String result;
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
            result = "ok " + perform(p);
        } catch (SimException e) {
            result = "error " + e.getMessage();
        } catch (IOException | RuntimeException e) {
            result = "error " + e;
        }
        try {
            String id = file.getFileName().toString().replaceFirst("\\.req$", "");
            Path tmp = host.requests().resolve(id + ".done.tmp");
            Files.writeString(tmp, result + "\n");
            Files.move(tmp, host.requests().resolve(id + ".done"), StandardCopyOption.ATOMIC_MOVE);
            Files.deleteIfExists(file);
        } catch (IOException e) {
            error.accept("answering " + file + ": " + e);
        }
    }

    private String perform(Properties p) throws IOException {
        String op = p.getProperty("op", "");
        String card = p.getProperty("card", "");
        return switch (op) {
            case "wedge" -> {
                var methods = new ArrayList<RecoveryMethod>();
                for (var t : p.getProperty("methods", "").split(",")) {
                    methods.add(RecoveryMethod.ofToken(t.strip()).orElseThrow(() -> new SimException("unknown method '" + t + "'")));
                }
                Optional<TaskInfo> task = p.containsKey("pid")
                        ? Optional.of(new TaskInfo(integer(p, "pid"), p.getProperty("task", "unknown")))
                        : Optional.empty();
                yield p.containsKey("devcoredump")
                        ? "WEDGED=" + model.wedge(card, methods, task, integer(p, "devcoredump"))
                        : "WEDGED=" + model.wedge(card, methods, task);
            }
            case "hotplug" -> {
                model.hotplug(card);
                yield "HOTPLUG=1";
            }
            case "devcoredump" -> model.devcoredump(card, integer(p, "bytes"))
                    .orElse("discarded: " + card + " has an unread devcoredump");
            case "survivability" -> "WEDGED=" + model.survivability(card) + " survivability_mode: Runtime";
            case "flash" -> model.flash(bdf(p));
            case "fault" -> {
                var bdf = bdf(p);
                if (Boolean.parseBoolean(p.getProperty("clear"))) model.clearFaults(bdf);
                if (p.containsKey("probeFailures")) model.failProbes(bdf, integer(p, "probeFailures"));
                if (p.containsKey("probeDelayMs")) model.probeDelay(bdf, Duration.ofMillis(integer(p, "probeDelayMs")));
                if (p.containsKey("rewedgeAfterMs")) model.rewedgeAfter(bdf, Duration.ofMillis(integer(p, "rewedgeAfterMs")));
                if (Boolean.parseBoolean(p.getProperty("deadUntilColdReset"))) model.deadUntilColdReset(bdf);
                if (Boolean.parseBoolean(p.getProperty("noReset"))) model.noReset(bdf);
                for (var fw : p.getProperty("failWrite", "").split(",")) {
                    if (fw.isBlank()) continue;
                    var kv = fw.strip().split("=", 2);
                    if (kv.length != 2) throw new SimException("failWrite wants ATTR=ERRNO, not '" + fw.strip() + "'");
                    model.failWrite(bdf, kv[0], kv[1]);
                }
                yield "fault set on " + bdf;
            }
            default -> throw new SimException("unknown request op '" + op + "'");
        };
    }

    private static PciAddress bdf(Properties p) throws SimException {
        String v = p.getProperty("bdf", "");
        return PciAddress.parse(v).orElseThrow(() -> new SimException("bad bdf '" + v + "' (want DDDD:BB:DD.F)"));
    }

    private static int integer(Properties p, String key) throws SimException {
        String v = p.getProperty(key, "");
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new SimException(key + " must be a whole number, not '" + v + "'");
        }
    }
}
