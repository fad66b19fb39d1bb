package io.unwedge.cli;

import io.unwedge.core.PciAddress;
import io.unwedge.host.netlink.KernelUeventInjector;
import io.unwedge.host.os.NetNamespace;
import io.unwedge.sim.DriverModel;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.SimControl;
import io.unwedge.sim.VirtualClient;
import io.unwedge.sim.VirtualHost;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "sim", mixinStandardHelpOptions = true,
        description = "The virtual GPU host: a sysfs tree, a driver model, uevents through the real kernel.",
        subcommands = {SimCommand.Create.class, SimCommand.Run.class, SimCommand.Wedge.class, SimCommand.Hotplug.class,
                SimCommand.Fault.class, SimCommand.Devcoredump.class, SimCommand.Survivability.class, SimCommand.Flash.class,
                SimCommand.Client.class})
final class SimCommand implements Runnable {

    /** How long a request waits for `sim run`'s answer; the card may be busy with a probe or a reset first. */
    private static final Duration ANSWER = Duration.ofSeconds(10);

    @Override
    public void run() {
        throw new Main.UsageError("sim needs a command: create, run, wedge, hotplug, fault, devcoredump, survivability, flash, client"
                + " (see `unwedge sim --help`)");
    }

    private static String bdf(String bdf) {
        return PciAddress.parse(bdf).orElseThrow(() -> new Main.UsageError("not a BDF (DDDD:BB:DD.F): " + bdf)).toString();
    }

    private static void nonNegative(String option, Number value) {
        if (value != null && value.longValue() < 0) throw new Main.UsageError(option + " cannot be negative, got " + value);
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Lays out a virtual host under DIR: DIR/sys, DIR/dev/dri, DIR/sim. Every function is bound.",
                    "Each card: the GPU at .0, its HDMI/DP audio at .1 (snd_hda_intel), a function reset (reset, reset_method),",
                    "and a hotplug slot on the root port above the card's PCIe switch (bus/pci/slots/N, power)."})
    static final class Create implements Callable<Integer> {
        @Option(names = "--root", required = true, description = "new or empty directory") Path root;
        @Option(names = "--gpus", defaultValue = "2", description = "discrete GPUs, each behind its own PCIe switch (default ${DEFAULT-VALUE})") int gpus;
        @Option(names = "--driver", defaultValue = "xe", description = "xe, i915 or amdgpu (default ${DEFAULT-VALUE})") String driver;
        @Option(names = "--first-card", defaultValue = "0", description = "number of the first card (e.g. 10 to rehearse card10+)") int firstCard;
        @Option(names = "--no-audio", description = "no audio function beside the GPU") boolean noAudio;
        @Option(names = "--no-reset", description = "the GPU supports no function reset: no reset, no reset_method") boolean noReset;
        @Option(names = "--no-slots", description = "no power-controllable hotplug slots") boolean noSlots;

        @Override
        public Integer call() throws Exception {
            var model = GpuModel.ofDriver(driver).orElseThrow(() -> new Main.UsageError("--driver must be xe, i915 or amdgpu, not '" + driver + "'"));
            var host = VirtualHost.create(root, gpus, model, firstCard, new VirtualHost.Options(!noAudio, !noReset, !noSlots));
            for (var g : host.gpus()) {
                System.out.printf("%s %s %s%s%s%s%n", host.cardOf(g), g.bdf(), g.model().driver,
                        g.audioBdf().map(a -> "  audio " + a).orElse(""), g.reset() ? "  reset" : "",
                        g.slot().map(n -> "  slot " + n + " (" + g.slotAddress().orElseThrow() + ")").orElse(""));
            }
            System.out.println("virtual host ready: " + host.root() + "  (next: unwedge sim run --root " + host.root() + ")");
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Runs the driver model in the foreground: reacts to bind/unbind writes and sim requests,",
                    "and sends every uevent through the kernel. Must run inside a private network namespace",
                    "(e.g. `unshare --net` or `ip netns exec`), together with the daemon that should hear it."})
    static final class Run implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Option(names = "--probe-delay-ms", defaultValue = "100", description = "how long a probe (and a function reset) takes (default ${DEFAULT-VALUE})") long probeDelayMs;
        @Option(names = "--devcoredump-expiry-ms", defaultValue = "300000", description = "an unread devcoredump is freed after this long (default ${DEFAULT-VALUE}, the kernel's 5 min)") long devcoredumpExpiryMs;

        @Override
        public Integer call() throws Exception {
            nonNegative("--probe-delay-ms", probeDelayMs);
            if (devcoredumpExpiryMs <= 0) throw new Main.UsageError("--devcoredump-expiry-ms must be positive, got " + devcoredumpExpiryMs);
            if (NetNamespace.isInitial(Path.of("/proc"))) {
                throw new Main.Refused("refusing to send virtual uevents into the host's own network namespace, where udevd"
                        + " and real consumers would act on them; run inside one of your own: unshare --net -- unwedge sim run --root " + root);
            }
            var host = VirtualHost.open(root);
            var done = new CountDownLatch(1);
            try (var injector = KernelUeventInjector.open();
                 var model = new DriverModel(host, injector, new DriverModel.Settings(Duration.ofMillis(probeDelayMs), Duration.ofMillis(devcoredumpExpiryMs)),
                         line -> System.out.println("sim: " + line))) {
                model.start();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    model.close();
                    done.countDown();
                }));
                System.out.println("sim: driver model running for " + host.gpus().size() + " GPU(s) under " + host.root() + "; Ctrl-C stops");
                done.await();
            }
            return 0;
        }
    }

    @Command(name = "wedge", mixinStandardHelpOptions = true,
            description = "Makes the driver wedge CARD and send the wedged uevent; it stays wedged until rebound.")
    static final class Wedge implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Parameters(index = "0", description = "primary minor, e.g. card1") String card;
        @Option(names = "--methods", defaultValue = "rebind,bus-reset", description = "comma-separated (default ${DEFAULT-VALUE})") String methods;
        @Option(names = "--pid", description = "guilty task's pid (PID=)") Integer pid;
        @Option(names = "--task", description = "guilty task's comm (TASK=)") String task;
        @Option(names = "--devcoredump", paramLabel = "BYTES", description = "take a devcoredump of BYTES first, as xe does") Integer devcoredump;

        @Override
        public Integer call() throws Exception {
            nonNegative("--devcoredump", devcoredump);
            var req = new LinkedHashMap<String, String>();
            req.put("op", "wedge");
            req.put("card", card);
            req.put("methods", methods);
            if (pid != null) {
                req.put("pid", pid.toString());
                req.put("task", task == null ? "unknown" : task);
            }
            if (devcoredump != null) req.put("devcoredump", devcoredump.toString());
            System.out.println(card + ": " + SimControl.request(VirtualHost.open(root), req, ANSWER));
            return 0;
        }
    }

    @Command(name = "hotplug", mixinStandardHelpOptions = true, description = "A display hotplug on CARD: a drm change without WEDGED.")
    static final class Hotplug implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Parameters(index = "0") String card;

        @Override
        public Integer call() throws Exception {
            var req = new LinkedHashMap<String, String>();
            req.put("op", "hotplug");
            req.put("card", card);
            System.out.println(card + ": " + SimControl.request(VirtualHost.open(root), req, ANSWER));
            return 0;
        }
    }

    @Command(name = "fault", mixinStandardHelpOptions = true,
            description = {"Injects faults into a function (the GPU, or its audio at .1). Each option sets one; --clear first clears all.",
                    "--fail-write ATTR=ERRNO: the next write to ATTR (bind, unbind, reset, reset_method, remove, power) of this",
                    "function has no effect and DIR/sim/errors.log names ERRNO, e.g. reset=ENOTTY, remove=EBUSY, power=ENODEV."})
    static final class Fault implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Parameters(index = "0", description = "the function's BDF, e.g. 0000:06:00.0") String bdf;
        @Option(names = "--probe-failures", description = "the next N probes fail with EIO") Integer probeFailures;
        @Option(names = "--probe-delay-ms", description = "how long probes take from now on") Long probeDelayMs;
        @Option(names = "--rewedge-after-ms", description = "after the next successful bind, the new driver instance wedges again after MS, with the last wedge's methods") Long rewedgeAfterMs;
        @Option(names = "--dead-until-cold-reset", description = "every probe fails until a slot power cycle; resets and rebinds do not help") boolean deadUntilColdReset;
        @Option(names = "--fail-write", paramLabel = "ATTR=ERRNO", description = "fail the next write to ATTR with ERRNO (repeatable)") List<String> failWrites = new ArrayList<>();
        @Option(names = "--no-reset", description = "the GPU function loses reset and reset_method (then remove + rescan is the way)") boolean noReset;
        @Option(names = "--clear", description = "every fault off and the hardware healthy, before the others are set") boolean clear;

        @Override
        public Integer call() throws Exception {
            var req = new LinkedHashMap<String, String>();
            req.put("op", "fault");
            req.put("bdf", bdf(bdf));
            nonNegative("--probe-failures", probeFailures);
            nonNegative("--probe-delay-ms", probeDelayMs);
            nonNegative("--rewedge-after-ms", rewedgeAfterMs);
            for (var fw : failWrites) {
                var kv = fw.split("=", 2);
                if (kv.length != 2 || !DriverModel.FAILABLE.contains(kv[0]) || !kv[1].matches("E[A-Z0-9]+")) {
                    throw new Main.UsageError("--fail-write wants ATTR=ERRNO with ATTR one of " + new TreeSet<>(DriverModel.FAILABLE)
                            + " and ERRNO a name like EBUSY, not '" + fw + "'");
                }
            }
            if (clear) req.put("clear", "true");
            if (probeFailures != null) req.put("probeFailures", probeFailures.toString());
            if (probeDelayMs != null) req.put("probeDelayMs", probeDelayMs.toString());
            if (rewedgeAfterMs != null) req.put("rewedgeAfterMs", rewedgeAfterMs.toString());
            if (deadUntilColdReset) req.put("deadUntilColdReset", "true");
            if (noReset) req.put("noReset", "true");
            if (!failWrites.isEmpty()) req.put("failWrite", String.join(",", failWrites));
            if (req.size() == 2) throw new Main.UsageError("sim fault needs a fault to set (see `unwedge sim fault --help`)");
            System.out.println(SimControl.request(VirtualHost.open(root), req, ANSWER));
            return 0;
        }
    }

    @Command(name = "devcoredump", mixinStandardHelpOptions = true,
            description = {"The driver of CARD takes a devcoredump: DIR/sys/class/devcoredump/devcdM, announced with an add uevent.",
                    "Writing anything to its data frees it; unread, it expires (sim run --devcoredump-expiry-ms).",
                    "A dump while the device still has one is discarded, as the kernel does."})
    static final class Devcoredump implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Parameters(index = "0", description = "primary minor, e.g. card1") String card;
        @Option(names = "--bytes", defaultValue = "65536", description = "size of data (default ${DEFAULT-VALUE})") int bytes;

        @Override
        public Integer call() throws Exception {
            nonNegative("--bytes", bytes);
            var req = new LinkedHashMap<String, String>();
            req.put("op", "devcoredump");
            req.put("card", card);
            req.put("bytes", Integer.toString(bytes));
            System.out.println(card + ": " + SimControl.request(VirtualHost.open(root), req, ANSWER));
            return 0;
        }
    }

    @Command(name = "survivability", mixinStandardHelpOptions = true,
            description = {"xe's runtime survivability mode on CARD: DIR/sys/bus/pci/devices/BDF/survivability_mode appears and",
                    "the card wedges with vendor-specific. Until `sim flash`, a rebind comes up in boot survivability mode (no card)."})
    static final class Survivability implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Parameters(index = "0", description = "primary minor of an xe GPU, e.g. card0") String card;

        @Override
        public Integer call() throws Exception {
            var req = new LinkedHashMap<String, String>();
            req.put("op", "survivability");
            req.put("card", card);
            System.out.println(card + ": " + SimControl.request(VirtualHost.open(root), req, ANSWER));
            return 0;
        }
    }

    @Command(name = "flash", mixinStandardHelpOptions = true,
            description = "The GPU's firmware has been flashed: survivability_mode goes; its next probe brings the card back.")
    static final class Flash implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Parameters(index = "0", description = "the GPU's BDF, e.g. 0000:03:00.0") String bdf;

        @Override
        public Integer call() throws Exception {
            var req = new LinkedHashMap<String, String>();
            req.put("op", "flash");
            req.put("bdf", bdf(bdf));
            System.out.println(SimControl.request(VirtualHost.open(root), req, ANSWER));
            return 0;
        }
    }

    @Command(name = "client", mixinStandardHelpOptions = true,
            description = {"Starts a virtual DRM client: a python3 process that opens DIR/dev/dri/CARD, maps it and holds it,",
                    "for the daemon's drain to deal with. Runs in the foreground; prints its pid; ends when the client does.",
                    "polite: on SIGTERM unmaps, closes, exits 0. stubborn: ignores SIGTERM. protected: polite, with comm Xwayland."})
    static final class Client implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Parameters(index = "0", description = "a minor of the virtual host, e.g. card0 or renderD128") String card;
        @Option(names = "--behaviour", defaultValue = "polite", description = "polite, stubborn or protected (default ${DEFAULT-VALUE})") String behaviour;
        @Option(names = "--mapping-only", description = "close the descriptor once mapped: only the mapping holds the device") boolean mappingOnly;
        @Option(names = "--exit-after-ms", defaultValue = "0", description = "let go and exit on its own after this long (default: never)") long exitAfterMs;

        @Override
        public Integer call() throws Exception {
            var b = VirtualClient.Behaviour.parse(behaviour)
                    .orElseThrow(() -> new Main.UsageError("--behaviour must be polite, stubborn or protected, not '" + behaviour + "'"));
            var host = VirtualHost.open(root);
            Path node;
            try {
                node = VirtualClient.node(host, card);
            } catch (IllegalArgumentException e) {
                throw new Main.UsageError(e.getMessage());
            } catch (java.io.IOException e) {
                throw new Main.NoSuchDevice(e.getMessage());
            }
            try (var client = VirtualClient.start(node, new VirtualClient.Options(b, mappingOnly, Duration.ofMillis(exitAfterMs)),
                    line -> System.out.println("client: " + line))) {
                System.out.println("client: pid " + client.pid() + " holds " + node + " (" + b + (mappingOnly ? ", mapping only" : "") + ")");
                Runtime.getRuntime().addShutdownHook(new Thread(client::close)); // Ctrl-C here ends our own client
                int status = client.process().waitFor();
                System.out.println("client: pid " + client.pid() + " ended with status " + status);
                return status == 0 ? ExitCode.OK.code : ExitCode.FAILED.code;
            }
        }
    }
}
