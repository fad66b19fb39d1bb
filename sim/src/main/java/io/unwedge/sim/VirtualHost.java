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
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * A virtual GPU host on disk: {@code ROOT/sys} laid out as a real host lays it out, {@code ROOT/dev/dri}
 * nodes, and {@code ROOT/sim} for the simulator's own description and requests.
 *
 * <pre>
 * sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0/   root port, switch up, switch down, GPU
 *     …/0000:03:00.0/{vendor,device,class,subsystem_vendor,subsystem_device,enable,uevent,driver→,subsystem→}
 *     …/0000:03:00.0/{remove,reset}          FIFOs: write 1 (reset only when the function supports one)
 *     …/0000:03:00.0/reset_method            "flr\n" (+ " bus" when the GPU is alone on its bus); writable
 *     …/0000:03:00.0/survivability_mode      xe only, while the firmware needs flashing
 *     …/0000:03:00.0/devcoredump→            while a dump of it exists
 *     …/0000:03:00.0/drm/{card0,renderD128}/{dev,uevent,device→,subsystem→}, drm/card0/card0-DP-1/status
 *     …/0000:03:00.1/                        the card's HDMI/DP audio (class 0x040300), remove FIFO, driver→
 *     …/0000:01:00.0/remove, …/0000:02:01.0/remove   the card's switch ports: remove takes everything below
 * sys/devices/virtual/devcoredump/devcd1/{data,failing_device→,uevent,subsystem→}
 * sys/class/drm/{card0,renderD128,card0-DP-1}→ , sys/class/drm/version, sys/class/devcoredump/{disabled,devcd1→}
 * sys/bus/pci/drivers/{xe,snd_hda_intel}/{bind,unbind,new_id,remove_id,&lt;BDF&gt;→}   bind, unbind: FIFOs
 * sys/bus/pci/devices/&lt;BDF&gt;→ for every function, bridges included
 * sys/bus/pci/rescan                         FIFO: write 1
 * sys/bus/pci/slots/1/{address,power}        address "0000:01:00"; power: FIFO, write 0 or 1
 * dev/dri/{card0,renderD128}
 * </pre>
 *
 * <p>Hotplug slots sit on the root port, above the card's own PCIe switch (as on a real Arc or Radeon
 * card, which carries a switch): a slot's {@code address} names the switch's upstream port
 * ({@code 0000:01:00}), never the GPU, so a consumer finds a GPU's slot by walking up its bridges.
 * Powering the slot off removes the switch, the GPU and its audio function.
 *
 * <p>The device nodes are regular files: a character device with major 226 cannot be opened without a DRM
 * driver, and virtual clients must be able to open and map them. The write-only attributes that act
 * ({@code bind}, {@code unbind}, {@code remove}, {@code reset}, {@code rescan}, {@code power}) are FIFOs, one
 * write one request, read by {@link DriverModel}; {@code power} cannot be read back as on a real host
 * (reading a FIFO would steal a request): {@link DriverModel#isPowered} says it.
 */
public final class VirtualHost {

    static final int DRM_MAJOR = 226;
    static final int RENDER_BASE = 128;
    /** The devcoredump's data file has this mtime until someone writes to it. */
    static final FileTime UNWRITTEN = FileTime.from(Instant.EPOCH);

    /** How the cards are built: the audio function, a function reset, power-controllable slots. */
    public record Options(boolean audio, boolean reset, boolean slots) {
        /** What real discrete GPUs have: all three. */
        public static final Options DEFAULT = new Options(true, true, true);
    }

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
     * PCIe switch on its own root port, with {@link Options#DEFAULT}: all bound, cards numbered from
     * {@code firstCard}.
     */
    public static VirtualHost create(Path root, int count, GpuModel model, int firstCard) throws IOException {
        return create(root, count, model, firstCard, Options.DEFAULT);
    }

    /** As {@link #create(Path, int, GpuModel, int)}, with or without audio functions, resets and slots. */
    public static VirtualHost create(Path root, int count, GpuModel model, int firstCard, Options options) throws IOException {
        if (count < 1 || count > 32) throw new IllegalArgumentException("--gpus must be 1..32, got " + count);
        if (firstCard < 0 || firstCard + count > 64) throw new IllegalArgumentException("card numbers must stay in 0..63");
        root = root.toAbsolutePath().normalize();
        refuseRealRoots(root);
        if (Files.exists(root) && !isEmptyDir(root)) {
            throw new FileAlreadyExistsException(root.toString(), null, "not empty; a virtual host is created in a new or empty directory");
        }
        var gpus = new ArrayList<SimGpu>();
        for (int i = 0; i < count; i++) {
            // root port 00:01.f (then 00:02.f …), switch upstream bus 3i+1, downstream 3i+2, GPU on 3i+3;
            // slot i+1 on the root port
            var rootPort = new PciAddress(0, 0, 1 + i / 8, i % 8);
            var up = new PciAddress(0, 3 * i + 1, 0, 0);
            var down = new PciAddress(0, 3 * i + 2, 1, 0);
            gpus.add(new SimGpu(new PciAddress(0, 3 * i + 3, 0, 0), model, List.of(rootPort, up, down), "pci0000:00",
                    options.audio(), options.reset(), options.slots() ? Optional.of(Integer.toString(i + 1)) : Optional.empty()));
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
                String driver = p.getProperty("gpu." + i + ".driver");
                String slot = p.getProperty("gpu." + i + ".slot", "");
                // hosts made before audio, resets and slots existed have none of them
                gpus.add(new SimGpu(bdf(p.getProperty("gpu." + i + ".bdf")),
                        GpuModel.ofDriver(driver).orElseThrow(() -> new IllegalArgumentException("unknown driver " + driver)),
                        bridges, p.getProperty("gpu." + i + ".hostBridge"),
                        Boolean.parseBoolean(p.getProperty("gpu." + i + ".audio", "false")),
                        Boolean.parseBoolean(p.getProperty("gpu." + i + ".reset", "false")),
                        slot.isEmpty() ? Optional.empty() : Optional.of(slot)));
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
        Files.createDirectories(sys().resolve("class/devcoredump"));
        write(sys().resolve("class/devcoredump/disabled"), "0\n");
        Files.createDirectories(sys().resolve("devices/virtual/devcoredump"));
        Files.createDirectories(sys().resolve("bus/pci/devices"));
        Files.createDirectories(sys().resolve("bus/pci/slots"));
        Fifo.create(sys().resolve("bus/pci/rescan"), 0200);
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
            desc.put("gpu." + i + ".audio", Boolean.toString(g.audio()));
            desc.put("gpu." + i + ".reset", Boolean.toString(g.reset()));
            desc.put("gpu." + i + ".slot", g.slot().orElse(""));
            Files.createDirectories(sys().resolve("devices").resolve(g.hostBridge()));
            for (var bridge : g.bridges()) addFunction(PciFunction.bridge(g, bridge));
            addFunction(PciFunction.gpu(g));
            if (g.reset()) addResetAttributes(g, String.join(" ", supportedResetMethods(g)) + "\n");
            if (g.audio()) addFunction(PciFunction.audio(g));
            if (g.slot().isPresent()) {
                Path slot = Files.createDirectories(slotsDir().resolve(g.slot().get()));
                write(slot.resolve("address"), g.slotAddress().orElseThrow() + "\n");
                Fifo.create(slot.resolve("power"), 0200);
            }
            for (var fn : functions(g)) {
                Path driver = sys().resolve("bus/pci/drivers").resolve(fn.driver().orElseThrow());
                if (Files.isDirectory(driver)) continue;
                Files.createDirectories(driver);
                for (var f : List.of("new_id", "remove_id")) write(driver.resolve(f), "");
                // one write, one request, as in sysfs; see DriverModel
                for (var f : List.of("bind", "unbind")) Fifo.create(driver.resolve(f), 0200);
            }
            attach(g, firstCard + i, RENDER_BASE + i);
            if (g.audio()) bind(PciFunction.audio(g));
        }
        var p = new Properties();
        desc.forEach(p::setProperty);
        Path tmp = simDir().resolve("host.properties.tmp");
        try (Writer w = Files.newBufferedWriter(tmp)) {
            p.store(w, "unwedge virtual GPU host");
        }
        Files.move(tmp, simDir().resolve("host.properties"), StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * The reset methods the GPU function supports, in the kernel's order (pci_reset_fn_methods). A
     * secondary bus reset is offered only to a function alone on its bus: with the audio function beside
     * it, pci_parent_bus_reset() says ENOTTY, so such a GPU has {@code flr} alone.
     */
    static List<String> supportedResetMethods(SimGpu g) {
        if (!g.reset()) return List.of();
        return g.audio() ? List.of("flr") : List.of("flr", "bus");
    }

    /** The card's functions that drivers bind, GPU first. */
    static List<PciFunction> functions(SimGpu g) {
        return g.audio() ? List.of(PciFunction.gpu(g), PciFunction.audio(g)) : List.of(PciFunction.gpu(g));
    }

    /**
     * A function appears as pci_device_add() makes it: its directory, attributes, {@code subsystem} link and
     * {@code bus/pci/devices} link, and (for a card's functions) its {@code remove} FIFO. Returns its
     * {@code add} uevent. Bridges already there are left alone (and say nothing).
     */
    Optional<Uevent> addFunction(PciFunction fn) throws IOException {
        Path dir = sys().resolve(fn.sysPath());
        if (Files.isDirectory(dir)) return Optional.empty();
        if (!Files.isDirectory(dir.getParent())) throw new IOException("cannot add " + fn.bdf() + ": its parent " + dir.getParent() + " is not there");
        Files.createDirectories(dir);
        write(dir.resolve("vendor"), String.format(Locale.ROOT, "0x%04x\n", fn.vendor()));
        write(dir.resolve("device"), String.format(Locale.ROOT, "0x%04x\n", fn.device()));
        write(dir.resolve("class"), String.format(Locale.ROOT, "0x%06x\n", fn.pciClass()));
        write(dir.resolve("subsystem_vendor"), String.format(Locale.ROOT, "0x%04x\n", fn.subsystemVendor()));
        write(dir.resolve("subsystem_device"), String.format(Locale.ROOT, "0x%04x\n", fn.subsystemDevice()));
        write(dir.resolve("enable"), "1\n");
        write(dir.resolve("uevent"), fn.ueventFile(false));
        link(dir.resolve("subsystem"), sys().resolve("bus/pci"));
        // every function of a card has remove, and so do the card's bridges; a root port has none here
        if (fn.driver().isPresent() || gpus.stream().anyMatch(g -> g.cardBridges().contains(fn.bdf()))) {
            Fifo.create(dir.resolve("remove"), 0200);
        }
        link(sys().resolve("bus/pci/devices").resolve(fn.bdf().toString()), dir);
        return Optional.of(fn.event("add"));
    }

    /**
     * What pci_destroy_dev() leaves: nothing. The function must be unbound first (see {@link DriverModel}).
     * Returns its {@code remove} uevent, or empty when it was not there.
     */
    Optional<Uevent> removeFunction(PciFunction fn) throws IOException {
        Path dir = sys().resolve(fn.sysPath());
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return Optional.empty();
        Files.deleteIfExists(sys().resolve("bus/pci/devices").resolve(fn.bdf().toString()));
        deleteTree(dir);
        return Optional.of(fn.event("remove"));
    }

    /** {@code reset} (a FIFO) and {@code reset_method} (a file, {@code methods} as the kernel shows them). */
    void addResetAttributes(SimGpu g, String methods) throws IOException {
        Path fn = functionDir(g);
        if (!Files.exists(fn.resolve("reset"), LinkOption.NOFOLLOW_LINKS)) Fifo.create(fn.resolve("reset"), 0200);
        write(fn.resolve("reset_method"), methods);
    }

    void removeResetAttributes(SimGpu g) throws IOException {
        Files.deleteIfExists(functionDir(g).resolve("reset"));
        Files.deleteIfExists(functionDir(g).resolve("reset_method"));
    }

    public Path functionDir(SimGpu g) {
        return sys().resolve(g.sysPath());
    }

    /** The directory of one of the card's functions (or bridges), whether or not it is there now. */
    public Path functionDir(SimGpu g, PciAddress function) {
        return sys().resolve(g.sysPath(function));
    }

    public Path driverDir(SimGpu g) {
        return sys().resolve("bus/pci/drivers").resolve(g.model().driver);
    }

    public Path slotsDir() {
        return sys().resolve("bus/pci/slots");
    }

    /** {@code bus/pci/slots/<N>} of the slot the card sits in, if it has one. */
    public Optional<Path> slotDir(SimGpu g) {
        return g.slot().map(slotsDir()::resolve);
    }

    /** The card one of whose functions is {@code bdf}. */
    public Optional<SimGpu> gpuOf(PciAddress bdf) {
        return gpus.stream().filter(g -> g.functions().contains(bdf)).findFirst();
    }

    /** Whether the function is enumerated now: not removed, its slot (if any) powered. */
    public boolean isPresent(PciAddress bdf) {
        return Files.isDirectory(sys().resolve("bus/pci/devices").resolve(bdf.toString()));
    }

    /** The driver bound to the function now, from its {@code driver} link. */
    public Optional<String> driverOf(PciAddress bdf) {
        try {
            return Optional.of(Files.readSymbolicLink(sys().resolve("bus/pci/devices").resolve(bdf.toString()).resolve("driver"))
                    .getFileName().toString());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The first line of the GPU's {@code survivability_mode}, e.g. "Survivability mode type: Runtime", if it has one. */
    public Optional<String> survivabilityMode(SimGpu g) {
        try {
            return Files.readAllLines(functionDir(g).resolve("survivability_mode")).stream().findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** {@code sys/devices/virtual/devcoredump}, where the dumps are. */
    public Path devcoredumpDir() {
        return sys().resolve("devices/virtual/devcoredump");
    }

    /** Every devcoredump there is now ({@code …/devcd<m>}), oldest first. */
    public List<Path> devcoredumps() throws IOException {
        if (!Files.isDirectory(devcoredumpDir())) return List.of();
        try (var s = Files.list(devcoredumpDir())) {
            return s.filter(p -> p.getFileName().toString().matches("devcd[1-9][0-9]*"))
                    .sorted(Comparator.comparingInt(VirtualHost::devcdNumber)).toList();
        }
    }

    /** The dump whose {@code failing_device} is the function, if there is one. */
    public Optional<Path> devcoredumpOf(SimGpu g, PciAddress function) throws IOException {
        Path fn = functionDir(g, function).toAbsolutePath().normalize();
        for (Path d : devcoredumps()) {
            try {
                Path target = d.resolve(Files.readSymbolicLink(d.resolve("failing_device"))).normalize();
                if (target.equals(fn)) return Optional.of(d);
            } catch (IOException e) {
                // freed while we looked
            }
        }
        return Optional.empty();
    }

    static int devcdNumber(Path devcd) {
        return Integer.parseInt(devcd.getFileName().toString().substring("devcd".length()));
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

    /** Whether the GPU function has a driver now. */
    public boolean isBound(SimGpu g) {
        return Files.exists(functionDir(g).resolve("driver"), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The end of a successful probe: the driver link, the minors, their class links and device nodes.
     * Returns the uevents the kernel sends for it, in its order: {@code add} for each minor, then {@code bind}.
     */
    List<Uevent> attach(SimGpu g, int card, int render) throws IOException {
        Path fn = functionDir(g);
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
        events.add(bind(PciFunction.gpu(g)));
        return events;
    }

    /**
     * A probe that registers no DRM device (xe in boot survivability mode, the audio function): the driver
     * link both ways and DRIVER= in the function's uevent file. Returns the {@code bind} uevent.
     */
    Uevent bind(PciFunction fn) throws IOException {
        Path dir = sys().resolve(fn.sysPath());
        Path driver = sys().resolve("bus/pci/drivers").resolve(fn.driver().orElseThrow());
        link(dir.resolve("driver"), driver);
        link(driver.resolve(fn.bdf().toString()), dir);
        write(dir.resolve("uevent"), fn.ueventFile(true));
        return fn.event("bind");
    }

    /** The reverse of {@link #bind(PciFunction)}. Returns the {@code unbind} uevent. */
    Uevent unbind(PciFunction fn) throws IOException {
        Path dir = sys().resolve(fn.sysPath());
        Files.deleteIfExists(sys().resolve("bus/pci/drivers").resolve(fn.driver().orElseThrow()).resolve(fn.bdf().toString()));
        Files.deleteIfExists(dir.resolve("driver"));
        write(dir.resolve("uevent"), fn.ueventFile(false));
        return fn.event("unbind");
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
        events.add(unbind(PciFunction.gpu(g)));
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

    /** xe's {@code survivability_mode}: present while the firmware needs flashing, {@code type} Runtime or Boot. */
    void writeSurvivabilityMode(SimGpu g, String type) throws IOException {
        write(functionDir(g).resolve("survivability_mode"), "Survivability mode type: " + type + "\n");
    }

    void deleteSurvivabilityMode(SimGpu g) throws IOException {
        Files.deleteIfExists(functionDir(g).resolve("survivability_mode"));
    }

    /**
     * What dev_coredumpm() makes: {@code devices/virtual/devcoredump/devcd<m>} with {@code data} (its mtime
     * {@link #UNWRITTEN}, so a later write shows), {@code failing_device}, the class link, and the failing
     * device's {@code devcoredump} link. Returns the {@code add} uevent.
     */
    Uevent addDevcoredump(int m, Path failing, byte[] data) throws IOException {
        Path dir = devcoredumpDir().resolve("devcd" + m);
        Files.createDirectories(dir);
        Path file = dir.resolve("data");
        Files.write(file, data);
        Files.setLastModifiedTime(file, UNWRITTEN);
        write(dir.resolve("uevent"), "");
        link(dir.resolve("failing_device"), failing);
        link(dir.resolve("subsystem"), sys().resolve("class/devcoredump"));
        link(sys().resolve("class/devcoredump").resolve("devcd" + m), dir);
        if (Files.isDirectory(failing)) link(failing.resolve("devcoredump"), dir);
        return devcoredumpEvent("add", m);
    }

    /** devcd_free(): the dump, its links, and the failing device's link to it go. Returns the {@code remove} uevent. */
    Uevent deleteDevcoredump(int m) throws IOException {
        Path dir = devcoredumpDir().resolve("devcd" + m);
        try {
            Path failing = dir.resolve(Files.readSymbolicLink(dir.resolve("failing_device"))).normalize();
            Path back = failing.resolve("devcoredump");
            if (Files.isSymbolicLink(back) && dir.equals(back.getParent().resolve(Files.readSymbolicLink(back)).normalize())) {
                Files.delete(back);
            }
        } catch (IOException e) {
            // the failing device went first (removed): nothing links back
        }
        Files.deleteIfExists(sys().resolve("class/devcoredump").resolve("devcd" + m));
        deleteTree(dir);
        return devcoredumpEvent("remove", m);
    }

    private static Uevent devcoredumpEvent(String action, int m) {
        return Uevent.of(action, "/devices/virtual/devcoredump/devcd" + m, Map.of("SUBSYSTEM", "devcoredump"));
    }

    private static void write(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.US_ASCII);
    }

    private static void link(Path link, Path target) throws IOException {
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, link.getParent().relativize(target));
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
