package io.unwedge.cli;

import io.unwedge.core.Devpath;
import io.unwedge.core.GpuDevice;
import io.unwedge.core.PciAddress;
import io.unwedge.core.holders.Holder;
import io.unwedge.core.holders.Holders;
import io.unwedge.host.procfs.HolderScan;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "users", mixinStandardHelpOptions = true,
        description = {"Lists the processes that hold a GPU: open descriptors on its nodes, mappings of them, DRM clients.",
                "Exits 0 when the device is free, 1 when something holds it, 3 when there is no such device.",
                "Run as root to see every process; what could not be read is listed as uncertain."})
final class UsersCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", description = "primary minor (card1) or PCI address (0000:06:00.0)") String device;
    @Option(names = "--all", description = "every DRM device") boolean all;
    @Option(names = "--sysfs", description = "sysfs root (default: the real /sys; only read)") Path sysfs;
    @Option(names = "--dev", description = "device node root (default: /dev, or DIR/dev beside --sysfs)") Path dev;
    @Option(names = "--proc", defaultValue = "/proc", description = "procfs root (default ${DEFAULT-VALUE})") Path proc;
    @Option(names = "--json", description = "one JSON object per device") boolean json;

    @Override
    public Integer call() {
        var root = new Sysfs(sysfs == null ? Sysfs.REAL_ROOT : sysfs);
        Path devRoot = dev != null ? dev : sysfs == null ? Path.of("/dev") : root.root().resolveSibling("dev");
        var topology = new Topology(root);
        if (all == (device != null)) throw new Main.UsageError("name one device (card1 or 0000:06:00.0), or --all");
        List<GpuDevice> devices;
        if (all) {
            devices = topology.cards();
            if (devices.isEmpty()) {
                if (json) System.out.println("[]");
                else System.out.println("no DRM devices under " + root.root());
                return ExitCode.OK.code;
            }
        } else {
            devices = List.of(find(topology, device));
        }
        // one walk of /proc for every device: --all costs one scan, not one per GPU
        var found = new HolderScan(proc).scan(devices.stream().map(d -> target(d, root, devRoot)).toList());
        boolean held = false;
        var jsonItems = new ArrayList<String>();
        for (int i = 0; i < devices.size(); i++) {
            var d = devices.get(i);
            var holders = found.get(i);
            held |= !holders.isFree();
            if (json) jsonItems.add(Json.device(d, holders));
            else print(d, holders);
        }
        if (json) System.out.println(all ? "[" + String.join(",\n", jsonItems) + "]" : jsonItems.getFirst());
        return held ? ExitCode.FAILED.code : ExitCode.OK.code;
    }

    static GpuDevice find(Topology topology, String name) {
        var bdf = PciAddress.parse(name);
        if (bdf.isPresent()) {
            return topology.byBdf(bdf.get()).orElseThrow(() -> new Main.NoSuchDevice("no DRM device at " + name + " under " + topology.sysfs()));
        }
        if (!Devpath.isPrimaryMinorName(name)) throw new Main.UsageError("not a card (card1) or a PCI address (0000:06:00.0): " + name);
        return topology.cards().stream().filter(d -> d.card().equals(name)).findFirst()
                .orElseThrow(() -> new Main.NoSuchDevice("no " + name + " under " + topology.sysfs()));
    }

    static HolderScan.Target target(GpuDevice d, Sysfs sysfs, Path devRoot) {
        return HolderScan.Target.of(d, sysfs, devRoot);
    }

    private static void print(GpuDevice d, Holders h) {
        int n = h.holders().size(), c = h.clients().size();
        System.out.printf("%s %s %s: %s%n", d.card(), d.bdf(), d.driver().orElse("(no driver)"), n == 0 ? "free"
                : "held by " + n + (n == 1 ? " process" : " processes") + ", " + c + (c == 1 ? " DRM client" : " DRM clients"));
        if (n > 0) System.out.printf("  %-8s %-6s %-24s %-16s %s%n", "PID", "UID", "UNIT/CONTAINER", "COMM", "HOLDS");
        for (var p : h.holders()) {
            System.out.printf("  %-8d %-6s %-24s %-16s %s%n", p.pid(), p.uid().isPresent() ? Integer.toString(p.uid().getAsInt()) : "?",
                    p.placement().label(), printable(p.comm()), holds(p));
        }
        int shown = 0;
        for (var u : h.uncertain()) {
            if (shown++ == 10) {
                System.out.println("  uncertain: … and " + (h.uncertain().size() - 10) + " more");
                break;
            }
            System.out.println("  uncertain: " + printable(u));
        }
    }

    private static String holds(Holder p) {
        var parts = new ArrayList<String>();
        for (var f : p.fds()) {
            parts.add("fd " + f.fd() + " " + printable(f.path()) + f.client().map(c -> " client " + c.clientId()).orElse(""));
        }
        for (var m : p.mappings()) parts.add("map " + m.range() + " " + m.perms() + " " + printable(m.path()));
        return String.join("; ", parts);
    }

    /** Process names and paths are the holder's to choose: no terminal control characters reach ours. */
    static String printable(String s) {
        return s.codePoints().map(cp -> Character.isISOControl(cp) ? '?' : cp)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    /** Just enough JSON for this output; no dependency for it. */
    static final class Json {
        static String device(GpuDevice d, Holders h) {
            return "{\"card\":" + str(d.card()) + ",\"bdf\":" + str(d.bdf().toString()) + ",\"driver\":" + d.driver().map(Json::str).orElse("null")
                    + ",\"free\":" + h.isFree() + ",\"clients\":" + list(h.clients().stream().map(c -> "{\"pdev\":" + str(c.pdev().toString())
                    + ",\"clientId\":" + c.clientId() + "}").toList())
                    + ",\"holders\":" + list(h.holders().stream().map(Json::holder).toList())
                    + ",\"uncertain\":" + list(h.uncertain().stream().map(Json::str).toList()) + "}";
        }

        static String holder(Holder p) {
            return "{\"pid\":" + p.pid() + ",\"comm\":" + str(p.comm()) + ",\"cmdline\":" + list(p.cmdline().stream().map(Json::str).toList())
                    + ",\"uid\":" + (p.uid().isPresent() ? p.uid().getAsInt() : "null") + ",\"cgroup\":" + str(p.placement().cgroup())
                    + ",\"unit\":" + p.placement().unit().map(Json::str).orElse("null")
                    + ",\"container\":" + p.placement().container().map(Json::str).orElse("null")
                    + ",\"fds\":" + list(p.fds().stream().map(f -> "{\"fd\":" + f.fd() + ",\"path\":" + str(f.path())
                    + ",\"client\":" + f.client().map(c -> Long.toString(c.clientId())).orElse("null") + "}").toList())
                    + ",\"mappings\":" + list(p.mappings().stream().map(m -> "{\"range\":" + str(m.range()) + ",\"perms\":" + str(m.perms())
                    + ",\"path\":" + str(m.path()) + "}").toList()) + "}";
        }

        static String list(List<String> items) {
            return "[" + String.join(",", items) + "]";
        }

        static String str(String s) {
            var b = new StringBuilder("\"");
            for (char ch : s.toCharArray()) {
                switch (ch) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    default -> {
                        if (ch < 0x20 || ch == 0x2028 || ch == 0x2029) b.append(String.format("\\u%04x", (int) ch));
                        else b.append(ch);
                    }
                }
            }
            return b.append('"').toString();
        }
    }
}
