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
import java.util.LinkedHashMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "sim", mixinStandardHelpOptions = true,
        description = "The virtual GPU host: a sysfs tree, a driver model, uevents through the real kernel.",
        subcommands = {SimCommand.Create.class, SimCommand.Run.class, SimCommand.Wedge.class, SimCommand.Hotplug.class,
                SimCommand.Fault.class, SimCommand.Client.class})
final class SimCommand implements Runnable {

    @Override
    public void run() {
        throw new Main.UsageError("sim needs a command: create, run, wedge, hotplug, fault, client (see `unwedge sim --help`)");
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Lays out a virtual host under DIR: DIR/sys, DIR/dev/dri, DIR/sim. Every GPU is bound.")
    static final class Create implements Callable<Integer> {
        @Option(names = "--root", required = true, description = "new or empty directory") Path root;
        @Option(names = "--gpus", defaultValue = "2", description = "discrete GPUs, each behind its own PCIe switch (default ${DEFAULT-VALUE})") int gpus;
        @Option(names = "--driver", defaultValue = "xe", description = "xe, i915 or amdgpu (default ${DEFAULT-VALUE})") String driver;
        @Option(names = "--first-card", defaultValue = "0", description = "number of the first card (e.g. 10 to rehearse card10+)") int firstCard;

        @Override
        public Integer call() throws Exception {
            var model = GpuModel.ofDriver(driver).orElseThrow(() -> new Main.UsageError("--driver must be xe, i915 or amdgpu, not '" + driver + "'"));
            var host = VirtualHost.create(root, gpus, model, firstCard);
            for (var g : host.gpus()) {
                System.out.printf("%s %s %s%n", host.cardOf(g), g.bdf(), g.model().driver);
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
        @Option(names = "--probe-delay-ms", defaultValue = "100", description = "how long a probe takes (default ${DEFAULT-VALUE})") long probeDelayMs;

        @Override
        public Integer call() throws Exception {
            if (NetNamespace.isInitial(Path.of("/proc"))) {
                throw new Main.Refused("refusing to send virtual uevents into the host's own network namespace, where udevd"
                        + " and real consumers would act on them; run inside one of your own: unshare --net -- unwedge sim run --root " + root);
            }
            var host = VirtualHost.open(root);
            var done = new CountDownLatch(1);
            try (var injector = KernelUeventInjector.open();
                 var model = new DriverModel(host, injector, Duration.ofMillis(probeDelayMs), line -> System.out.println("sim: " + line))) {
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

        @Override
        public Integer call() throws Exception {
            var req = new LinkedHashMap<String, String>();
            req.put("op", "wedge");
            req.put("card", card);
            req.put("methods", methods);
            if (pid != null) {
                req.put("pid", pid.toString());
                req.put("task", task == null ? "unknown" : task);
            }
            System.out.println(card + ": " + SimControl.request(VirtualHost.open(root), req, Duration.ofSeconds(5)));
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
            System.out.println(card + ": " + SimControl.request(VirtualHost.open(root), req, Duration.ofSeconds(5)));
            return 0;
        }
    }

    @Command(name = "fault", mixinStandardHelpOptions = true, description = "Injects faults into a GPU's driver.")
    static final class Fault implements Callable<Integer> {
        @Option(names = "--root", required = true) Path root;
        @Parameters(index = "0", description = "the GPU's BDF, e.g. 0000:06:00.0") String bdf;
        @Option(names = "--probe-failures", description = "the next N probes fail with EIO") Integer probeFailures;
        @Option(names = "--probe-delay-ms", description = "how long probes take from now on") Long probeDelayMs;

        @Override
        public Integer call() throws Exception {
            var addr = PciAddress.parse(bdf).orElseThrow(() -> new Main.UsageError("not a BDF (DDDD:BB:DD.F): " + bdf));
            var req = new LinkedHashMap<String, String>();
            req.put("op", "fault");
            req.put("bdf", addr.toString());
            if (probeFailures != null) req.put("probeFailures", probeFailures.toString());
            if (probeDelayMs != null) req.put("probeDelayMs", probeDelayMs.toString());
            System.out.println(SimControl.request(VirtualHost.open(root), req, Duration.ofSeconds(5)));
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
