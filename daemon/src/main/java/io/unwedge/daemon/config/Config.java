package io.unwedge.daemon.config;

import io.unwedge.core.MethodPolicy;
import io.unwedge.core.Offences;
import io.unwedge.core.safety.QuarantineMode;
import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.Telemetry;
import io.unwedge.daemon.Timeouts;
import io.unwedge.daemon.http.ListenAddress;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The daemon's settings, as {@code /etc/unwedge/unwedge.toml} gives them: one record per table, each
 * validated in its constructor and immutable. Every key is optional; {@link #DEFAULT} is a file with none.
 * docs/configuration.md says what each key means, and packaging/unwedge.toml is every key at its default.
 *
 * <p>Pure but for {@link #load}: {@link #parse} takes the text, {@link #toTable} gives it back as a TOML
 * tree (which {@code config show} prints and which parses back to an equal {@code Config}).
 */
public record Config(Daemon daemon, Timeouts timeouts, Drain drain, Recovery recovery, Safety safety,
                     Unknown unknown, None none, Map<String, Vendor> vendors, Hooks hooks) {

    /** Where the daemon looks when no file is named. */
    public static final Path DEFAULT_FILE = Path.of("/etc/unwedge/unwedge.toml");

    /**
     * How far back each safety rule counts in the journal, by the keys that set it: the budget's window, the
     * flap rule's span, and the offence rule's lookback (two windows). Retention must keep that much.
     */
    public static Map<String, Duration> safetyLookbacks(Safety safety, None none) {
        var needs = new java.util.LinkedHashMap<String, Duration>();
        needs.put("[safety] budget_window", safety.budgetWindow());
        needs.put("[safety] flap_window × flap_count", safety.flapWindow().multipliedBy(safety.flapCount()));
        needs.put("[none] offence_window × 2 (the lookback)", none.offenceWindow().multipliedBy(2));
        return needs;
    }

    /** The longest of {@link #safetyLookbacks}: no pruning may delete a recovery or telemetry row younger than this. */
    public Duration safetyMemory() {
        return safetyLookbacks(safety, none).values().stream().max(Duration::compareTo).orElseThrow();
    }

    /** A config file is read whole; a bigger one is a mistake (or /dev/zero). */
    public static final int MAX_BYTES = 1 << 20;

    public Config {
        Objects.requireNonNull(daemon);
        Objects.requireNonNull(timeouts);
        Objects.requireNonNull(drain);
        Objects.requireNonNull(recovery);
        Objects.requireNonNull(safety);
        Objects.requireNonNull(unknown);
        Objects.requireNonNull(none);
        Objects.requireNonNull(hooks);
        vendors = Collections.unmodifiableMap(new TreeMap<>(vendors));
        vendors.keySet().forEach(d -> requireDriver(d, "[vendor.<driver>]"));
    }

    // ------------------------------------------------------------------------------------ the tables

    /**
     * {@code [daemon]}.
     *
     * @param metricsListen      where the metrics endpoint listens (docs/metrics.md), or off
     * @param metricsAllowRemote whether {@code metricsListen} may be other than loopback
     */
    public record Daemon(Path stateDir, boolean dryRun, EventLog.Format logFormat, boolean debug, int retainDays, int retainMb,
                         ListenAddress metricsListen, boolean metricsAllowRemote) {
        public static final Daemon DEFAULT = new Daemon(Path.of("/var/lib/unwedge"), false, EventLog.Format.TEXT, false, 90, 64);

        public Daemon {
            Objects.requireNonNull(logFormat);
            Objects.requireNonNull(metricsListen);
            if (!stateDir.isAbsolute()) throw new IllegalArgumentException("state_dir must be absolute: " + stateDir);
            if (retainDays < 1) throw new IllegalArgumentException("retain_days must be at least 1: " + retainDays);
            if (retainMb < 1) throw new IllegalArgumentException("retain_mb must be at least 1: " + retainMb);
            if (metricsListen instanceof ListenAddress.At at && !at.isLoopback() && !metricsAllowRemote) {
                throw new IllegalArgumentException("metrics_listen " + at + " is not a loopback address and metrics_allow_remote is false: "
                        + ListenAddress.REMOTE_REFUSED);
            }
        }

        /** The metrics endpoint at its default, 127.0.0.1:9464. */
        public Daemon(Path stateDir, boolean dryRun, EventLog.Format logFormat, boolean debug, int retainDays, int retainMb) {
            this(stateDir, dryRun, logFormat, debug, retainDays, retainMb, ListenAddress.DEFAULT, false);
        }
    }

    /**
     * {@code [drain]}, and the overrides of {@code [drain.driver.<name>]} and {@code [drain.device."<BDF>"]}.
     * {@code protect} is added to {@link DrainPolicy.Protection#DEFAULT}. Overrides that set nothing are dropped.
     */
    public record Drain(DrainPolicy.Mode mode, Duration grace, boolean force, List<String> protect,
                        Map<String, DrainOverride> drivers, Map<PciAddress, DrainOverride> devices) {
        public static final Drain DEFAULT = new Drain(DrainPolicy.DEFAULT.mode(), DrainPolicy.DEFAULT.grace(),
                DrainPolicy.DEFAULT.force(), List.of(), Map.of(), Map.of());

        public Drain {
            Objects.requireNonNull(mode);
            requireNotNegative(grace, "grace");
            protect = List.copyOf(protect);
            protect.forEach(Config::requireComm);
            drivers = sortedNonEmpty(drivers);
            devices = sortedNonEmpty(devices);
            drivers.keySet().forEach(d -> requireDriver(d, "[drain.driver.<name>]"));
        }

        private static <K> Map<K, DrainOverride> sortedNonEmpty(Map<K, DrainOverride> m) {
            var out = new TreeMap<K, DrainOverride>();
            m.forEach((k, v) -> {
                if (!v.isEmpty()) out.put(Objects.requireNonNull(k), v);
            });
            return Collections.unmodifiableMap(out);
        }

        /** [drain] alone, without overrides. */
        public DrainPolicy policy() {
            return new DrainPolicy(mode, grace, DrainPolicy.Protection.DEFAULT.withComms(Set.copyOf(protect)), force);
        }
    }

    /** The keys a {@code [drain.driver.<name>]} or {@code [drain.device."<BDF>"]} table gives; the others stay. */
    public record DrainOverride(Optional<DrainPolicy.Mode> mode, Optional<Duration> grace, Optional<Boolean> force,
                                Optional<List<String>> protect) {
        public static final DrainOverride NONE = new DrainOverride(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

        public DrainOverride {
            Objects.requireNonNull(mode);
            Objects.requireNonNull(force);
            grace.ifPresent(g -> requireNotNegative(g, "grace"));
            protect = protect.map(List::copyOf);
            protect.ifPresent(p -> p.forEach(Config::requireComm));
        }

        public boolean isEmpty() {
            return mode.isEmpty() && grace.isEmpty() && force.isEmpty() && protect.isEmpty();
        }

        Drain applyTo(Drain d) {
            return new Drain(mode.orElse(d.mode()), grace.orElse(d.grace()), force.orElse(d.force()),
                    protect.orElse(d.protect()), Map.of(), Map.of());
        }
    }

    /** The kernel's reset methods ({@code <BDF>/reset_method}, drivers/pci/pci.c {@code pci_reset_fn_methods}). */
    public static final List<String> RESET_METHODS = List.of("flr", "pm", "bus", "cxl_bus", "device_specific", "acpi");

    /** The methods a config may allow: the disruptive ones. */
    public static final Set<RecoveryMethod> DISRUPTIVE = Collections.unmodifiableSet(EnumSet.of(
            RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET, RecoveryMethod.VENDOR_SPECIFIC, RecoveryMethod.COLD_RESET));

    /**
     * {@code [recovery]}.
     *
     * @param methods       the disruptive methods unwedge may run; others are skipped with a reason
     * @param resetMethod   written to {@code <BDF>/reset_method} before a reset, the original restored after;
     *                      empty: leave it as it is
     * @param maxConcurrent disruptive recoveries at once, host-wide
     */
    public record Recovery(Set<RecoveryMethod> methods, MethodPolicy.BusReset busReset, List<String> resetMethod, boolean verifyIoctl, int maxConcurrent) {
        public static final Recovery DEFAULT = new Recovery(DISRUPTIVE, MethodPolicy.BusReset.RESET, List.of(), false, 1);

        public Recovery {
            methods = methods.isEmpty() ? Collections.unmodifiableSet(EnumSet.noneOf(RecoveryMethod.class))
                    : Collections.unmodifiableSet(EnumSet.copyOf(methods));
            for (var m : methods) if (!m.isDisruptive()) throw new IllegalArgumentException("not a disruptive method: " + m);
            Objects.requireNonNull(busReset);
            resetMethod = List.copyOf(resetMethod);
            for (var r : resetMethod) if (!RESET_METHODS.contains(r)) throw new IllegalArgumentException("not a reset method: " + r);
            if (Set.copyOf(resetMethod).size() != resetMethod.size()) throw new IllegalArgumentException("a reset method listed twice: " + resetMethod);
            if (maxConcurrent < 1) throw new IllegalArgumentException("max_concurrent must be at least 1: " + maxConcurrent);
        }

        public boolean allows(RecoveryMethod m) {
            return methods.contains(m);
        }
    }

    /**
     * {@code [safety]}: at most {@code budget} recoveries of a device per {@code budgetWindow}; a device that
     * wedges {@code flapCount} times within {@code flapWindow} is quarantined.
     */
    public record Safety(int budget, Duration budgetWindow, int flapCount, Duration flapWindow, QuarantineMode quarantine) {
        public static final Safety DEFAULT = new Safety(3, Duration.ofHours(1), 3, Duration.ofMinutes(10), QuarantineMode.UNBOUND);

        public Safety {
            if (budget < 1) throw new IllegalArgumentException("budget must be at least 1: " + budget);
            if (flapCount < 2) throw new IllegalArgumentException("flap_count must be at least 2: " + flapCount);
            requirePositive(budgetWindow, "budget_window");
            requirePositive(flapWindow, "flap_window");
            Objects.requireNonNull(quarantine);
        }
    }

    /** {@code [unknown]}: what to do about {@code WEDGED=unknown}. */
    public record Unknown(Policy policy, Command command) {
        public static final Unknown DEFAULT = new Unknown(Policy.ALERT, Command.NONE);

        public enum Policy {
            /** log it at error level; nothing else */
            ALERT,
            /** run {@code command} */
            HOOK,
            /** run {@code command}, which asks for a reboot */
            REQUEST_REBOOT;

            @Override
            public String toString() {
                return token(this);
            }
        }

        public Unknown {
            Objects.requireNonNull(policy);
            Objects.requireNonNull(command);
            if (policy != Policy.ALERT && command.isEmpty()) throw new IllegalArgumentException("policy " + policy + " needs a command");
        }
    }

    /** {@code [none]}: {@code WEDGED=none}, nothing to recover; telemetry, and repeat offences. */
    public record None(boolean devcoredump, int offences, Duration offenceWindow, Action action, Command command) {
        public static final None DEFAULT = new None(true, 3, Duration.ofHours(1), Action.NOTIFY, Command.NONE);

        /** What {@code offences} within {@code offenceWindow} lead to. */
        public enum Action {
            NOTIFY, TERMINATE, HOOK;

            @Override
            public String toString() {
                return token(this);
            }
        }

        public None {
            if (offences < 1) throw new IllegalArgumentException("offences must be at least 1: " + offences);
            requirePositive(offenceWindow, "offence_window");
            Objects.requireNonNull(action);
            Objects.requireNonNull(command);
            if (action == Action.HOOK && command.isEmpty()) throw new IllegalArgumentException("action hook needs a command");
        }
    }

    /** {@code [vendor.<driver>]}: xe runs it when {@code <BDF>/survivability_mode} exists; others for vendor-specific. */
    public record Vendor(Command command) {
        public Vendor {
            Objects.requireNonNull(command);
        }
    }

    /** {@code [hooks]}: run before and after every disruptive recovery, each bounded by {@code timeout}. */
    public record Hooks(Command preRecovery, Command postRecovery, Duration timeout) {
        public static final Hooks DEFAULT = new Hooks(Command.NONE, Command.NONE, Duration.ofSeconds(30));

        public Hooks {
            Objects.requireNonNull(preRecovery);
            Objects.requireNonNull(postRecovery);
            requirePositive(timeout, "timeout");
        }
    }

    /** An argv: the program (an absolute path: a root daemon searches no PATH) and its arguments. Empty: none. */
    public record Command(List<String> argv) {
        public static final Command NONE = new Command(List.of());

        public Command {
            argv = List.copyOf(argv);
            problem(argv).ifPresent(p -> {
                throw new IllegalArgumentException(p);
            });
        }

        public boolean isEmpty() {
            return argv.isEmpty();
        }

        /** What is wrong with {@code argv} as a command, if anything. */
        static Optional<String> problem(List<String> argv) {
            if (argv.isEmpty()) return Optional.empty();
            String program = argv.getFirst();
            if (program.isEmpty()) return Optional.of("the program (the first element) is empty");
            if (!program.startsWith("/")) {
                return Optional.of("the program '" + program + "' must be an absolute path, e.g. '/usr/bin/" + program.replaceFirst(".*/", "") + "'");
            }
            for (var a : argv) if (a.indexOf('\0') >= 0) return Optional.of("a NUL character cannot be in an argument");
            return Optional.empty();
        }
    }

    public static final Config DEFAULT = new Config(Daemon.DEFAULT, Timeouts.DEFAULT, Drain.DEFAULT, Recovery.DEFAULT,
            Safety.DEFAULT, Unknown.DEFAULT, None.DEFAULT, Map.of(), Hooks.DEFAULT);

    // ------------------------------------------------------------------------------------ use

    /** What {@code [recovery]}, {@code [safety]}, {@code [unknown]}, {@code [vendor.*]} and {@code [hooks]} make of recoveries. */
    public io.unwedge.daemon.RecoveryPolicy recoveryPolicy() {
        var unknownTo = switch (unknown.policy()) {
            case ALERT -> MethodPolicy.Handoff.ALERT;
            case HOOK -> new MethodPolicy.Handoff(MethodPolicy.Handoff.Kind.HOOK, unknown.command().argv());
            case REQUEST_REBOOT -> new MethodPolicy.Handoff(MethodPolicy.Handoff.Kind.REQUEST_REBOOT, unknown.command().argv());
        };
        var vendorCommands = new java.util.TreeMap<String, List<String>>();
        vendors.forEach((driver, v) -> {
            if (!v.command().isEmpty()) vendorCommands.put(driver, v.command().argv());
        });
        var methods = new MethodPolicy(recovery.methods(), recovery.busReset(), recovery.resetMethod(), unknownTo, vendorCommands);
        var limits = new io.unwedge.core.safety.SafetyPolicy(safety.budget(), safety.budgetWindow(), safety.flapCount(), safety.flapWindow(),
                safety.quarantine(), recovery.maxConcurrent());
        return new io.unwedge.daemon.RecoveryPolicy(methods, limits, hooks.preRecovery().argv(), hooks.postRecovery().argv(), hooks.timeout(),
                recovery.verifyIoctl());
    }

    /** What {@code [none]} and {@code [hooks] timeout} make of {@code WEDGED=none}: dumps, offences, their action. */
    public Telemetry.Policy telemetryPolicy() {
        var action = switch (none.action()) {
            case NOTIFY -> Offences.Action.NOTIFY;
            case TERMINATE -> Offences.Action.TERMINATE;
            case HOOK -> Offences.Action.HOOK;
        };
        return new Telemetry.Policy(none.devcoredump(), Telemetry.Policy.DEFAULT_MAX_BYTES,
                new Offences.Policy(none.offences(), none.offenceWindow(), action), none.command().argv(), hooks.timeout());
    }

    /**
     * The drain policy for a device: {@code [drain]}, then the keys its driver's table gives, then the keys
     * its device's table gives (a device beats a driver beats {@code [drain]}).
     *
     * @param driver the device's driver, or null when it has none
     */
    public DrainPolicy drainFor(String driver, PciAddress bdf) {
        Objects.requireNonNull(bdf);
        var d = drain;
        if (driver != null) d = drain.drivers().getOrDefault(driver, DrainOverride.NONE).applyTo(d);
        d = drain.devices().getOrDefault(bdf, DrainOverride.NONE).applyTo(d);
        return d.policy();
    }

    /** The vendor command for a driver, if its table gives a non-empty one (else the unknown policy applies). */
    public Optional<Command> vendorCommand(String driver) {
        return Optional.ofNullable(vendors.get(driver)).map(Vendor::command).filter(c -> !c.isEmpty());
    }

    public Config withDaemon(Daemon d) {
        return new Config(d, timeouts, drain, recovery, safety, unknown, none, vendors, hooks);
    }

    public Config withTimeouts(Timeouts t) {
        return new Config(daemon, t, drain, recovery, safety, unknown, none, vendors, hooks);
    }

    public Config withDrain(Drain d) {
        return new Config(daemon, timeouts, d, recovery, safety, unknown, none, vendors, hooks);
    }

    // ------------------------------------------------------------------------------------ reading

    /**
     * The config in {@code file}. The only I/O here: at most {@link #MAX_BYTES} are read (a FIFO or
     * {@code /dev/stdin} works), and must be UTF-8.
     *
     * @throws IOException     the file cannot be read ({@link java.nio.file.NoSuchFileException},
     *                         {@link java.nio.file.AccessDeniedException}, …)
     * @throws ConfigException what it says cannot be used: every problem, with its line
     */
    public static Config load(Path file) throws IOException, ConfigException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        }
        String source = file.toString();
        if (bytes.length > MAX_BYTES) {
            throw new ConfigException(source, List.of(new ConfigException.Problem(0, "larger than " + (MAX_BYTES >> 20) + " MiB: not a config file")));
        }
        return parse(decode(bytes, source), source);
    }

    /** Strict UTF-8, naming the line of the first bad byte. */
    static String decode(byte[] bytes, String source) throws ConfigException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        var in = ByteBuffer.wrap(bytes);
        var out = CharBuffer.allocate(bytes.length);
        var result = decoder.decode(in, out, true);
        if (result.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
            throw new ConfigException(source, List.of(new ConfigException.Problem(line,
                    String.format("not UTF-8 text: byte 0x%02x at offset %d", bytes[at] & 0xff, at))));
        }
        decoder.flush(out);
        return out.flip().toString();
    }

    /** The config {@code text} gives; {@code source} names it in the problems. */
    public static Config parse(String text, String source) throws ConfigException {
        var parsed = Toml.read(text);
        var problems = new ArrayList<>(parsed.problems());
        var config = new ConfigReader(problems).read(parsed.root());
        if (!problems.isEmpty()) throw new ConfigException(source, ConfigException.sorted(problems));
        return config.orElseThrow();
    }

    // ------------------------------------------------------------------------------------ writing

    /** Every setting, defaults filled in, as the TOML tree a file would hold. */
    public Toml.Table toTable() {
        var root = new LinkedHashMap<String, Toml.Node>();
        root.put("daemon", table(List.of("daemon"),
                "state_dir", str(daemon.stateDir().toString()),
                "dry_run", bool(daemon.dryRun()),
                "log_format", str(daemon.logFormat().name().toLowerCase(Locale.ROOT)),
                "debug", bool(daemon.debug()),
                "retain_days", integer(daemon.retainDays()),
                "retain_mb", integer(daemon.retainMb()),
                "metrics_listen", str(daemon.metricsListen().toString()),
                "metrics_allow_remote", bool(daemon.metricsAllowRemote())));
        root.put("timeouts", table(List.of("timeouts"),
                "write", duration(timeouts.write()),
                "unbind", duration(timeouts.unbind()),
                "bind", duration(timeouts.bind()),
                "settle", duration(timeouts.settle()),
                "reset", duration(timeouts.reset()),
                "power_off", duration(timeouts.powerOff())));
        var drainTable = entries(
                "mode", str(drain.mode().toString()),
                "grace", duration(drain.grace()),
                "force", bool(drain.force()),
                "protect", strings(drain.protect()));
        var byDriver = new LinkedHashMap<String, Toml.Node>();
        drain.drivers().forEach((name, o) -> byDriver.put(name, override(List.of("drain", "driver", name), o)));
        var byDevice = new LinkedHashMap<String, Toml.Node>();
        drain.devices().forEach((bdf, o) -> byDevice.put(bdf.toString(), override(List.of("drain", "device", bdf.toString()), o)));
        if (!byDriver.isEmpty()) drainTable.put("driver", new Toml.Table(List.of("drain", "driver"), 0, byDriver));
        if (!byDevice.isEmpty()) drainTable.put("device", new Toml.Table(List.of("drain", "device"), 0, byDevice));
        root.put("drain", new Toml.Table(List.of("drain"), 0, drainTable));
        root.put("recovery", table(List.of("recovery"),
                "methods", strings(recovery.methods().stream().map(RecoveryMethod::token).toList()),
                "bus_reset", str(recovery.busReset().toString()),
                "reset_method", str(String.join(" ", recovery.resetMethod())),
                "verify_ioctl", bool(recovery.verifyIoctl()),
                "max_concurrent", integer(recovery.maxConcurrent())));
        root.put("safety", table(List.of("safety"),
                "budget", integer(safety.budget()),
                "budget_window", duration(safety.budgetWindow()),
                "flap_count", integer(safety.flapCount()),
                "flap_window", duration(safety.flapWindow()),
                "quarantine", str(safety.quarantine().toString())));
        root.put("unknown", table(List.of("unknown"),
                "policy", str(unknown.policy().toString()),
                "command", strings(unknown.command().argv())));
        root.put("none", table(List.of("none"),
                "devcoredump", bool(none.devcoredump()),
                "offences", integer(none.offences()),
                "offence_window", duration(none.offenceWindow()),
                "action", str(none.action().toString()),
                "command", strings(none.command().argv())));
        if (!vendors.isEmpty()) {
            var byVendor = new LinkedHashMap<String, Toml.Node>();
            vendors.forEach((name, v) -> byVendor.put(name, table(List.of("vendor", name), "command", strings(v.command().argv()))));
            root.put("vendor", new Toml.Table(List.of("vendor"), 0, byVendor));
        }
        root.put("hooks", table(List.of("hooks"),
                "pre_recovery", strings(hooks.preRecovery().argv()),
                "post_recovery", strings(hooks.postRecovery().argv()),
                "timeout", duration(hooks.timeout())));
        return new Toml.Table(List.of(), 0, root);
    }

    /** The whole config as a TOML document. */
    public String toToml() {
        return Toml.write(toTable());
    }

    private static Toml.Table override(List<String> path, DrainOverride o) {
        var m = new LinkedHashMap<String, Toml.Node>();
        o.mode().ifPresent(x -> m.put("mode", str(x.toString())));
        o.grace().ifPresent(x -> m.put("grace", duration(x)));
        o.force().ifPresent(x -> m.put("force", bool(x)));
        o.protect().ifPresent(x -> m.put("protect", strings(x)));
        return new Toml.Table(path, 0, m);
    }

    private static Toml.Table table(List<String> path, Object... kv) {
        return new Toml.Table(path, 0, entries(kv));
    }

    private static LinkedHashMap<String, Toml.Node> entries(Object... kv) {
        var m = new LinkedHashMap<String, Toml.Node>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], (Toml.Node) kv[i + 1]);
        return m;
    }

    private static Toml.Str str(String s) {
        return new Toml.Str(s, 0);
    }

    private static Toml.Bool bool(boolean b) {
        return new Toml.Bool(b, 0);
    }

    private static Toml.Int integer(long n) {
        return new Toml.Int(n, 0);
    }

    private static Toml.Arr strings(List<String> l) {
        return new Toml.Arr(l.stream().map(s -> (Toml.Value) str(s)).toList(), 0);
    }

    private static Toml.Str duration(Duration d) {
        return str(formatDuration(d));
    }

    // ------------------------------------------------------------------------------------ durations

    private static final Pattern DURATION = Pattern.compile("([0-9]+)(ms|s|m|h|d)");

    /**
     * The longest duration a setting may have: ten years, far beyond any window or timeout, and far within what
     * the daemon adds up in nanoseconds (a recovery's worst case is a sum of timeouts; 2^63 ns is 292 years).
     */
    public static final Duration MAX_DURATION = Duration.ofDays(3650);

    /** {@code "250ms"}, {@code "10s"}, {@code "5m"}, {@code "1h"}, {@code "1d"}, at most {@link #MAX_DURATION}; empty for anything else. */
    public static Optional<Duration> parseDuration(String s) {
        var m = DURATION.matcher(s);
        if (!m.matches()) return Optional.empty();
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        try {
            return Optional.of(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            }).filter(d -> d.compareTo(MAX_DURATION) <= 0);
        } catch (ArithmeticException e) {
            return Optional.empty();
        }
    }

    /** The largest unit that says {@code d} exactly: 90 s is {@code "90s"}, 3600 s is {@code "1h"}. */
    public static String formatDuration(Duration d) {
        if (d.isNegative() || d.toNanosPart() % 1_000_000 != 0) throw new IllegalArgumentException("not a config duration: " + d);
        long ms = d.toMillis();
        if (ms == 0) return "0s";
        long[] sizes = {86_400_000L, 3_600_000L, 60_000L, 1000L};
        String[] units = {"d", "h", "m", "s"};
        for (int i = 0; i < sizes.length; i++) if (ms % sizes[i] == 0) return ms / sizes[i] + units[i];
        return ms + "ms";
    }

    // ------------------------------------------------------------------------------------ checks shared with the reader

    /** A bare key: what a driver's directory under /sys/bus/pci/drivers is named. */
    static final Pattern DRIVER = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    static void requireDriver(String name, String where) {
        if (!DRIVER.matcher(name).matches()) throw new IllegalArgumentException("not a driver name in " + where + ": '" + name + "'");
    }

    static Optional<String> commProblem(String comm) {
        if (comm.isEmpty()) return Optional.of("an empty process name");
        for (char c : comm.toCharArray()) {
            if (c < 0x20 || c == 0x7f) return Optional.of("a control character in the process name " + Toml.quote(comm));
        }
        return Optional.empty();
    }

    static void requireComm(String comm) {
        commProblem(comm).ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
    }

    static void requirePositive(Duration d, String what) {
        if (!d.isPositive()) throw new IllegalArgumentException(what + " must be more than zero: " + d);
    }

    static void requireNotNegative(Duration d, String what) {
        if (d.isNegative()) throw new IllegalArgumentException(what + " must not be negative: " + d);
    }

    /** {@code NOTIFY_ONLY} → {@code notify-only}. */
    static String token(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
