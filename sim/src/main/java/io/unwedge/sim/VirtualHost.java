package io.unwedge.sim;

import io.unwedge.core.PciAddress;
import io.unwedge.core.Uevent;
import io.unwedge.host.os.Fifo;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * A virtual GPU host on disk: {@code ROOT/sys} laid out as a real host lays it out, {@code ROOT/dev/dri}
 * nodes, and {@code ROOT/sim} for the simulator's own description and requests.
 *
 * <pre>
 * sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0/   root port, switch up, switch down, GPU
 *     …/0000:03:00.0/{vendor,device,class,subsystem_vendor,subsystem_device,uevent,driver→,subsystem→}
 *     …/0000:03:00.0/drm/{card0,renderD128}/{dev,uevent,device→,subsystem→}, drm/card0/card0-DP-1/status
 * sys/class/drm/{card0,renderD128,card0-DP-1}→ , sys/class/drm/version
 * sys/bus/pci/drivers/xe/{bind,unbind,new_id,remove_id,0000:03:00.0→}
 * sys/bus/pci/devices/&lt;BDF&gt;→ for every function, bridges included
 * dev/dri/{card0,renderD128}
 * </pre>
 *
 * The device nodes are regular files: a character device with major 226 cannot be opened without a DRM
 * driver, and virtual clients must be able to open and map them.
 */
public final class VirtualHost {

    static final int DRM_MAJOR = 226;
    static final int RENDER_BASE = 128;

    private final Path root;
    private final List<SimGpu> gpus;
    private final int firstCard;

    private VirtualHost(Path root, List<SimGpu> gpus, int firstCard) {
        this.root = root;
        this.gpus = List.copyOf(gpus);
        this.firstCard = firstCard;
    }

    public Path root() {
        return root;
    }

    public Path sys() {
        return root.resolve("sys");
    }

    public Path dev() {
        return root.resolve("dev");
    }

    public Path simDir() {
        return root.resolve("sim");
    }

    public Path requests() {
        return simDir().resolve("requests");
    }

    public List<SimGpu> gpus() {
        return gpus;
    }

    public int firstCard() {
        return firstCard;
    }

    /**
     * Lays out a new virtual host with {@code count} discrete GPUs of {@code model}, each behind its own
     * PCIe switch on its own root port, all bound, cards numbered from {@code firstCard}.
     */
    public static VirtualHost create(Path root, int count, GpuModel model, int firstCard) throws IOException {
        if (count < 1 || count > 32) throw new IllegalArgumentException("--gpus must be 1..32, got " + count);
        if (firstCard < 0 || firstCard + count > 64) throw new IllegalArgumentException("card numbers must stay in 0..63");
        root = root.toAbsolutePath().normalize();
        refuseRealRoots(root);
        if (Files.exists(root) && !isEmptyDir(root)) {
            throw new FileAlreadyExistsException(root.toString(), null, "not empty; a virtual host is created in a new or empty directory");
        }
        var gpus = new ArrayList<SimGpu>();
        for (int i = 0; i < count; i++) {
            // root port 00:01.f (then 00:02.f …), switch upstream bus 3i+1, downstream 3i+2, GPU on 3i+3
            var rootPort = new PciAddress(0, 0, 1 + i / 8, i % 8);
            var up = new PciAddress(0, 3 * i + 1, 0, 0);
            var down = new PciAddress(0, 3 * i + 2, 1, 0);
            gpus.add(new SimGpu(new PciAddress(0, 3 * i + 3, 0, 0), model, List.of(rootPort, up, down), "pci0000:00"));
        }
        var host = new VirtualHost(root, gpus, firstCard);
        host.layout();
        return host;
    }

    /** A host made earlier by {@link #create}. */
    public static VirtualHost open(Path root) throws IOException {
        root = root.toAbsolutePath().normalize();
        Path desc = root.resolve("sim/host.properties");
        if (!Files.isRegularFile(desc)) {
            throw new IOException(root + " is not a virtual host (no sim/host.properties); make one with `unwedge sim create --root " + root + "`");
        }
        var p = new Properties();
        try (Reader r = Files.newBufferedReader(desc)) {
            p.load(r);
        }
        try {
            int n = Integer.parseInt(p.getProperty("gpus"));
            var gpus = new ArrayList<SimGpu>();
            for (int i = 0; i < n; i++) {
                var bridges = new ArrayList<PciAddress>();
                for (var b : p.getProperty("gpu." + i + ".bridges").split(",")) bridges.add(bdf(b));
                gpus.add(new SimGpu(bdf(p.getProperty("gpu." + i + ".bdf")),
                        GpuModel.ofDriver(p.getProperty("gpu." + i + ".driver")).orElseThrow(),
                        bridges, p.getProperty("gpu." + i + ".hostBridge")));
            }
            return new VirtualHost(root, gpus, Integer.parseInt(p.getProperty("firstCard", "0")));
        } catch (RuntimeException e) {
            throw new IOException(desc + " is damaged: " + e.getMessage(), e);
        }
    }

    private static PciAddress bdf(String s) {
        return PciAddress.parse(s).orElseThrow(() -> new IllegalArgumentException("bad BDF " + s));
    }

    /** The virtual host must never be laid over a real one. */
    static void refuseRealRoots(Path root) throws IOException {
        if (root.getNameCount() == 0) throw new IOException("refusing to use / as a virtual host root");
        for (var real : List.of(Path.of("/sys"), Path.of("/dev"), Path.of("/proc"))) {
            if (root.startsWith(real) || (Files.exists(root.resolve("sys")) && Files.exists(real)
                    && Files.isSameFile(root.resolve("sys"), Path.of("/sys")))) {
                throw new IOException("refusing to use " + root + " as a virtual host root: it is (under) the real " + real);
            }
        }
    }

    private static boolean isEmptyDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return false;
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private void layout() throws IOException {
        Files.createDirectories(requests());
        Files.createDirectories(sys().resolve("class/drm"));
        write(sys().resolve("class/drm/version"), "drm 1.1.0 20060810\n");
        Files.createDirectories(sys().resolve("bus/pci/devices"));
        write(sys().resolve("bus/pci/rescan"), "");
        Files.createDirectories(dev().resolve("dri"));
        var desc = new LinkedHashMap<String, String>();
        desc.put("gpus", Integer.toString(gpus.size()));
        desc.put("firstCard", Integer.toString(firstCard));
        for (int i = 0; i < gpus.size(); i++) {
            var g = gpus.get(i);
            desc.put("gpu." + i + ".bdf", g.bdf().toString());
            desc.put("gpu." + i + ".driver", g.model().driver);
            desc.put("gpu." + i + ".bridges", String.join(",", g.bridges().stream().map(PciAddress::toString).toList()));
            desc.put("gpu." + i + ".hostBridge", g.hostBridge());
            layoutPci(g);
            var driver = driverDir(g);
            Files.createDirectories(driver);
            for (var f : List.of("new_id", "remove_id")) {
                if (!Files.exists(driver.resolve(f))) write(driver.resolve(f), "");
            }
            for (var f : List.of("bind", "unbind")) {
                // one write, one request, as in sysfs; see DriverModel
                if (!Files.exists(driver.resolve(f))) Fifo.create(driver.resolve(f), 0200);
            }
            attach(g, firstCard + i, RENDER_BASE + i);
        }
        var p = new Properties();
        desc.forEach(p::setProperty);
        Path tmp = simDir().resolve("host.properties.tmp");
        try (Writer w = Files.newBufferedWriter(tmp)) {
            p.store(w, "unwedge virtual GPU host");
        }
        Files.move(tmp, simDir().resolve("host.properties"), StandardCopyOption.ATOMIC_MOVE);
    }

    private void layoutPci(SimGpu g) throws IOException {
        Path dir = sys().resolve("devices").resolve(g.hostBridge());
        for (var bridge : g.bridges()) {
            dir = dir.resolve(bridge.toString());
            if (Files.isDirectory(dir)) continue;
            Files.createDirectories(dir);
            // an Intel root port / PCIe switch, class PCI-to-PCI bridge
            pciAttributes(dir, 0x8086, 0x7f36, 0x060400, 0, 0);
            write(dir.resolve("uevent"), "PCI_CLASS=60400\nPCI_ID=8086:7F36\nPCI_SLOT_NAME=" + bridge + "\n");
            link(sys().resolve("bus/pci/devices").resolve(bridge.toString()), dir);
        }
        Path fn = dir.resolve(g.bdf().toString());
        Files.createDirectories(fn);
        var m = g.model();
        pciAttributes(fn, m.vendor, m.device, 0x030000, m.subsystemVendor, m.subsystemDevice);
        write(fn.resolve("uevent"), pciUevent(g, false));
        link(fn.resolve("subsystem"), sys().resolve("bus/pci"));
        link(sys().resolve("bus/pci/devices").resolve(g.bdf().toString()), fn);
    }

    private static void pciAttributes(Path dir, int vendor, int device, int cls, int sv, int sd) throws IOException {
        write(dir.resolve("vendor"), String.format(Locale.ROOT, "0x%04x\n", vendor));
        write(dir.resolve("device"), String.format(Locale.ROOT, "0x%04x\n", device));
        write(dir.resolve("class"), String.format(Locale.ROOT, "0x%06x\n", cls));
        write(dir.resolve("subsystem_vendor"), String.format(Locale.ROOT, "0x%04x\n", sv));
        write(dir.resolve("subsystem_device"), String.format(Locale.ROOT, "0x%04x\n", sd));
        write(dir.resolve("enable"), "1\n");
    }

    private static String pciUevent(SimGpu g, boolean bound) {
        var m = g.model();
        return (bound ? "DRIVER=" + m.driver + "\n" : "") + "PCI_CLASS=30000\nPCI_ID=" + m.pciId() + "\nPCI_SUBSYS_ID="
                + m.subsysId() + "\nPCI_SLOT_NAME=" + g.bdf() + "\nMODALIAS=" + m.modalias() + "\n";
    }

    public Path functionDir(SimGpu g) {
        return sys().resolve(g.sysPath());
    }

    public Path driverDir(SimGpu g) {
        return sys().resolve("bus/pci/drivers").resolve(g.model().driver);
    }

    /** Card numbers in use now, read from the tree (the driver model keeps no second copy). */
    public List<Integer> cardsInUse() throws IOException {
        return minorsInUse("card");
    }

    public List<Integer> rendersInUse() throws IOException {
        return minorsInUse("renderD");
    }

    private List<Integer> minorsInUse(String prefix) throws IOException {
        try (var s = Files.list(sys().resolve("class/drm"))) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.matches(prefix + "[0-9]+"))
                    .map(n -> Integer.parseInt(n.substring(prefix.length()))).sorted().toList();
        }
    }

    /** The primary minor a GPU has now, e.g. {@code card1}, or null when unbound. */
    public String cardOf(SimGpu g) throws IOException {
        return minorOf(g, "card");
    }

    public String renderOf(SimGpu g) throws IOException {
        return minorOf(g, "renderD");
    }

    private String minorOf(SimGpu g, String prefix) throws IOException {
        Path drm = functionDir(g).resolve("drm");
        if (!Files.isDirectory(drm)) return null;
        try (var s = Files.list(drm)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches(prefix + "[0-9]+")).findFirst().orElse(null);
        }
    }

    public boolean isBound(SimGpu g) {
        return Files.exists(functionDir(g).resolve("driver"), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The end of a successful probe: the driver link, the minors, their class links and device nodes.
     * Returns the uevents the kernel sends for it, in its order: {@code add} for each minor, then {@code bind}.
     */
    List<Uevent> attach(SimGpu g, int card, int render) throws IOException {
        Path fn = functionDir(g);
        Path driver = driverDir(g);
        link(fn.resolve("driver"), driver);
        link(driver.resolve(g.bdf().toString()), fn);
        write(fn.resolve("uevent"), pciUevent(g, true));
        var events = new ArrayList<Uevent>();
        String cardName = "card" + card;
        for (var minor : List.of(new String[] {cardName, Integer.toString(card)},
                new String[] {"renderD" + render, Integer.toString(render)})) {
            Path dir = fn.resolve("drm").resolve(minor[0]);
            Files.createDirectories(dir);
            write(dir.resolve("dev"), DRM_MAJOR + ":" + minor[1] + "\n");
            write(dir.resolve("uevent"), "MAJOR=" + DRM_MAJOR + "\nMINOR=" + minor[1] + "\nDEVNAME=dri/" + minor[0] + "\nDEVTYPE=drm_minor\n");
            link(dir.resolve("device"), fn);
            link(dir.resolve("subsystem"), sys().resolve("class/drm"));
            link(sys().resolve("class/drm").resolve(minor[0]), dir);
            Path node = dev().resolve("dri").resolve(minor[0]);
            if (!Files.exists(node)) write(node, "");
            events.add(minorEvent("add", g, minor[0], Integer.parseInt(minor[1])));
        }
        // a connector: a consumer globbing card* must not take it for a card
        String connector = cardName + "-DP-1";
        Path con = fn.resolve("drm").resolve(cardName).resolve(connector);
        Files.createDirectories(con);
        write(con.resolve("status"), "disconnected\n");
        write(con.resolve("enabled"), "disabled\n");
        link(sys().resolve("class/drm").resolve(connector), con);
        events.add(Uevent.of("add", "/" + sys().relativize(con), Map.of("SUBSYSTEM", "drm")));
        events.add(pciEvent("bind", g));
        return events;
    }

    /**
     * What unbind does: minors, class links and nodes go, then the driver link. Returns the kernel's
     * uevents in its order: {@code remove} for the connector and each minor, then {@code unbind}.
     */
    List<Uevent> detach(SimGpu g) throws IOException {
        Path fn = functionDir(g);
        var events = new ArrayList<Uevent>();
        Path drm = fn.resolve("drm");
        if (Files.isDirectory(drm)) {
            List<Path> minors;
            try (var s = Files.list(drm)) {
                minors = s.sorted().toList();
            }
            for (Path minor : minors) {
                String name = minor.getFileName().toString();
                try (var s = Files.list(minor)) {
                    for (Path con : s.filter(p -> p.getFileName().toString().startsWith(name + "-")).toList()) {
                        Files.deleteIfExists(sys().resolve("class/drm").resolve(con.getFileName().toString()));
                        events.add(Uevent.of("remove", "/" + sys().relativize(con), Map.of("SUBSYSTEM", "drm")));
                    }
                }
                Files.deleteIfExists(sys().resolve("class/drm").resolve(name));
                Files.deleteIfExists(dev().resolve("dri").resolve(name));
                int number = Integer.parseInt(name.replaceAll("^[A-Za-z]+", ""));
                deleteTree(minor);
                events.add(minorEvent("remove", g, name, number));
            }
            deleteTree(drm);
        }
        Files.deleteIfExists(driverDir(g).resolve(g.bdf().toString()));
        Files.deleteIfExists(fn.resolve("driver"));
        write(fn.resolve("uevent"), pciUevent(g, false));
        events.add(pciEvent("unbind", g));
        return events;
    }

    Uevent minorEvent(String action, SimGpu g, String minor, int number) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("MAJOR", Integer.toString(DRM_MAJOR));
        f.put("MINOR", Integer.toString(number));
        f.put("DEVNAME", "dri/" + minor);
        f.put("DEVTYPE", "drm_minor");
        return Uevent.of(action, g.devpath() + "/drm/" + minor, f);
    }

    private static Uevent pciEvent(String action, SimGpu g) {
        var m = g.model();
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "pci");
        if (action.equals("bind")) f.put("DRIVER", m.driver);
        f.put("PCI_CLASS", "30000");
        f.put("PCI_ID", m.pciId());
        f.put("PCI_SUBSYS_ID", m.subsysId());
        f.put("PCI_SLOT_NAME", g.bdf().toString());
        f.put("MODALIAS", m.modalias());
        return Uevent.of(action, g.devpath(), f);
    }

    private static void write(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.US_ASCII);
    }

    private static void link(Path link, Path target) throws IOException {
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, link.getParent().relativize(target));
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
