package io.unwedge.daemon.config;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.Timeouts;
import io.unwedge.daemon.config.Config.Command;
import io.unwedge.daemon.http.ListenAddress;
import io.unwedge.daemon.config.ConfigException.Problem;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The parsed tree to a {@link Config}, every problem collected: an unknown table or key (with the nearest
 * known name when one is close), a value of the wrong kind or out of range (with what is allowed and an
 * example). A key that is wrong leaves its default in place so the rest is still checked.
 */
final class ConfigReader {

    static final Map<String, List<String>> KEYS = new LinkedHashMap<>();

    static {
        KEYS.put("daemon", List.of("state_dir", "dry_run", "log_format", "debug", "retain_days", "retain_mb", "metrics_listen",
                "metrics_allow_remote"));
        KEYS.put("timeouts", List.of("write", "unbind", "bind", "settle", "reset", "power_off"));
        KEYS.put("drain", List.of("mode", "grace", "force", "protect"));
        KEYS.put("recovery", List.of("methods", "bus_reset", "reset_method", "verify_ioctl", "max_concurrent"));
        KEYS.put("safety", List.of("budget", "budget_window", "flap_count", "flap_window", "quarantine"));
        KEYS.put("unknown", List.of("policy", "command"));
        KEYS.put("none", List.of("devcoredump", "offences", "offence_window", "action", "command"));
        KEYS.put("vendor", List.of());
        KEYS.put("hooks", List.of("pre_recovery", "post_recovery", "timeout"));
    }

    /** The sub-tables a table may hold; for these, one table per driver or device. */
    /** The longest duration a key takes, as the file writes it. */
    private static final String LONGEST = Toml.quote(Config.formatDuration(Config.MAX_DURATION));

    static final Map<String, List<String>> SUBTABLES = Map.of("drain", List.of("driver", "device"));

    static final List<String> DRAIN_KEYS = KEYS.get("drain");
    static final List<String> VENDOR_KEYS = List.of("command");

    private static final String COMMAND_EXAMPLE = "[\"/usr/local/bin/gpu-alert\", \"--card\"]";
    private static final String UNITS = "units: ms, s, m, h, d";

    private final List<Problem> problems;

    ConfigReader(List<Problem> problems) {
        this.problems = problems;
    }

    /** The config, or empty when there are problems (the parser's or this reader's). */
    Optional<Config> read(Toml.Table root) {
        for (var e : root.entries().entrySet()) {
            String name = e.getKey();
            if (KEYS.containsKey(name)) {
                if (e.getValue() instanceof Toml.Value v) problem(v.line(), "'" + name + "' must be a table, [" + name + "], not a value at the top level");
            } else if (e.getValue() instanceof Toml.Table t) {
                problem(t.line(), "unknown table " + t.header() + didYouMean(name, KEYS.keySet(), "[", "]"));
            } else {
                var owners = KEYS.entrySet().stream().filter(t -> t.getValue().contains(name)).map(t -> "[" + t.getKey() + "]").toList();
                problem(((Toml.Value) e.getValue()).line(), "unknown key '" + name + "' at the top level: "
                        + (owners.isEmpty() ? "every setting belongs in a table such as [daemon]" : "it belongs under " + String.join(" or ", owners)));
            }
        }
        var daemon = table(() -> daemon(keys(root, "daemon")), Config.Daemon.DEFAULT);
        var timeouts = table(() -> timeouts(keys(root, "timeouts")), Timeouts.DEFAULT);
        var drain = table(() -> drain(root), Config.Drain.DEFAULT);
        var recovery = table(() -> recovery(keys(root, "recovery")), Config.Recovery.DEFAULT);
        var safety = table(() -> safety(keys(root, "safety")), Config.Safety.DEFAULT);
        var unknown = table(() -> unknown(keys(root, "unknown")), Config.Unknown.DEFAULT);
        var none = table(() -> none(keys(root, "none")), Config.None.DEFAULT);
        var vendors = table(() -> vendors(root), Map.<String, Config.Vendor>of());
        var hooks = table(() -> hooks(keys(root, "hooks")), Config.Hooks.DEFAULT);
        if (problems.isEmpty()) retentionCoversTheWindows(root, daemon, safety, none);
        if (!problems.isEmpty()) return Optional.empty();
        return Optional.of(new Config(daemon, timeouts, drain, recovery, safety, unknown, none, vendors, hooks));
    }

    /**
     * The journal must keep what the safety checks count: the budget's window, the flap rule's span, and the
     * offence rule's lookback (two windows). With less, pruning would delete history they need, and a budget
     * or an offence count would come out too low: the rule would allow more than it says.
     */
    private void retentionCoversTheWindows(Toml.Table root, Config.Daemon daemon, Config.Safety safety, Config.None none) {
        var most = Config.safetyLookbacks(safety, none).entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
        Duration keeps = Duration.ofDays(daemon.retainDays());
        if (keeps.compareTo(most.getValue()) >= 0) return;
        long days = (most.getValue().toHours() + 23) / 24;
        int line = root.entries().get("daemon") instanceof Toml.Table t && t.entries().get("retain_days") instanceof Toml.Value v ? v.line() : 0;
        problem(line, "'retain_days' in [daemon] (" + daemon.retainDays() + ") keeps less history than " + most.getKey() + " ("
                + Config.formatDuration(most.getValue()) + ") counts: pruning would make that rule undercount; at least retain_days = " + days);
    }

    /**
     * One table read. Every rule of the records is checked by the reader first, with its line; this is the
     * net under them, so that a rule the reader missed is still a problem in the file and not a crash.
     */
    private <T> T table(java.util.function.Supplier<T> read, T fallback) {
        try {
            return read.get();
        } catch (IllegalArgumentException e) {
            problem(0, e.getMessage());
            return fallback;
        }
    }

    // ------------------------------------------------------------------------------------ the tables

    private Config.Daemon daemon(Keys k) {
        var d = Config.Daemon.DEFAULT;
        Path stateDir = k.string("state_dir", "\"/var/lib/unwedge\"").flatMap(s -> {
            if (s.indexOf('\0') >= 0 || !s.startsWith("/")) {
                k.bad("state_dir", "must be an absolute path, not " + Toml.quote(s), "\"/var/lib/unwedge\"");
                return Optional.empty();
            }
            return Optional.of(Path.of(s));
        }).orElse(d.stateDir());
        boolean allowRemote = k.bool("metrics_allow_remote").orElse(d.metricsAllowRemote());
        return new Config.Daemon(stateDir,
                k.bool("dry_run").orElse(d.dryRun()),
                k.choice("log_format", EventLog.Format.values()).orElse(d.logFormat()),
                k.bool("debug").orElse(d.debug()),
                k.integer("retain_days", 1, d.retainDays()).orElse(d.retainDays()),
                k.integer("retain_mb", 1, d.retainMb()).orElse(d.retainMb()),
                metricsListen(k, allowRemote).orElse(d.metricsListen()), allowRemote);
    }

    /** {@code metrics_listen}: host:port or "off", and loopback unless {@code metrics_allow_remote}. */
    private Optional<ListenAddress> metricsListen(Keys k, boolean allowRemote) {
        String example = Toml.quote(ListenAddress.DEFAULT.toString());
        return k.string("metrics_listen", example).flatMap(s -> {
            ListenAddress a;
            try {
                a = ListenAddress.parse(s);
            } catch (IllegalArgumentException e) {
                k.bad("metrics_listen", e.getMessage() + "; it is host:port with an IP address, or \"off\"", example);
                return Optional.empty();
            }
            if (a instanceof ListenAddress.At at && !at.isLoopback() && !allowRemote) {
                k.bad("metrics_listen", "is " + at + ", not a loopback address: " + ListenAddress.REMOTE_REFUSED
                        + "; set metrics_allow_remote = true to serve it beyond this host anyway", example);
                return Optional.empty();
            }
            return Optional.of(a);
        });
    }

    private Timeouts timeouts(Keys k) {
        var d = Timeouts.DEFAULT;
        return new Timeouts(
                k.duration("write", false, d.write()).orElse(d.write()),
                k.duration("unbind", false, d.unbind()).orElse(d.unbind()),
                k.duration("bind", false, d.bind()).orElse(d.bind()),
                k.duration("settle", true, d.settle()).orElse(d.settle()),
                k.duration("reset", false, d.reset()).orElse(d.reset()),
                k.duration("power_off", false, d.powerOff()).orElse(d.powerOff()));
    }

    private Config.Drain drain(Toml.Table root) {
        var k = keys(root, "drain");
        var base = override(k);
        var d = Config.Drain.DEFAULT;
        var drivers = new LinkedHashMap<String, Config.DrainOverride>();
        for (var t : perItem(k.table, "driver", "[drain.driver.xe]", "driver")) {
            String name = t.path().getLast();
            if (!Config.DRIVER.matcher(name).matches()) {
                problem(t.line(), t.header() + ": " + Toml.quote(name) + " is not a driver name (letters, digits, '_' and '-'), e.g. [drain.driver.xe]");
            }
            drivers.put(name, override(new Keys(t, DRAIN_KEYS, List.of())));
        }
        var devices = new HashMap<PciAddress, Config.DrainOverride>();
        var firstLine = new HashMap<PciAddress, Toml.Table>();
        for (var t : perItem(k.table, "device", "[drain.device.\"0000:03:00.0\"]", "device")) {
            String name = t.path().getLast();
            var o = override(new Keys(t, DRAIN_KEYS, List.of()));
            var bdf = PciAddress.parse(name);
            if (bdf.isEmpty()) {
                problem(t.line(), t.header() + ": " + Toml.quote(name) + " is not a PCI address DDDD:BB:DD.F, e.g. [drain.device.\"0000:03:00.0\"]");
            } else if (firstLine.containsKey(bdf.get())) {
                var first = firstLine.get(bdf.get());
                problem(t.line(), t.header() + " is the same device as " + first.header() + " (line " + first.line() + ")");
            } else {
                firstLine.put(bdf.get(), t);
                devices.put(bdf.get(), o);
            }
        }
        return new Config.Drain(base.mode().orElse(d.mode()), base.grace().orElse(d.grace()), base.force().orElse(d.force()),
                base.protect().orElse(d.protect()), drivers, devices);
    }

    /** The four drain keys, each only if given. */
    private Config.DrainOverride override(Keys k) {
        var protect = k.strings("protect", "[\"Xorg\", \"my-renderer\"]").flatMap(list -> {
            for (var comm : list) {
                var p = Config.commProblem(comm);
                if (p.isPresent()) {
                    k.bad("protect", "holds " + p.get(), "[\"Xorg\", \"my-renderer\"]");
                    return Optional.empty();
                }
            }
            return Optional.of(list);
        });
        return new Config.DrainOverride(k.choice("mode", DrainPolicy.Mode.values()), k.duration("grace", true, DrainPolicy.DEFAULT_GRACE),
                k.bool("force"), protect);
    }

    private Config.Recovery recovery(Keys k) {
        var d = Config.Recovery.DEFAULT;
        var methods = methods(k).orElse(d.methods());
        var resetMethod = k.string("reset_method", "\"flr bus\"").flatMap(s -> resetMethods(k, s)).orElse(d.resetMethod());
        return new Config.Recovery(methods, k.choice("bus_reset", io.unwedge.core.MethodPolicy.BusReset.values()).orElse(d.busReset()), resetMethod,
                k.bool("verify_ioctl").orElse(d.verifyIoctl()), k.integer("max_concurrent", 1, d.maxConcurrent()).orElse(d.maxConcurrent()));
    }

    private Optional<Set<RecoveryMethod>> methods(Keys k) {
        var allowed = Config.DISRUPTIVE.stream().map(RecoveryMethod::token).toList();
        String example = "[\"rebind\", \"bus-reset\"]";
        var arr = k.array("methods", example);
        if (arr.isEmpty()) return Optional.empty();
        var out = EnumSet.noneOf(RecoveryMethod.class);
        boolean ok = true;
        for (var item : arr.get().items()) {
            if (!(item instanceof Toml.Str s)) {
                k.badItem("methods", item, "a method name", example);
                ok = false;
                continue;
            }
            var m = RecoveryMethod.ofToken(s.value()).filter(RecoveryMethod::isDisruptive);
            if (m.isEmpty()) {
                String why = RecoveryMethod.ofToken(s.value()).isPresent() ? Toml.quote(s.value()) + " is not a recovery to allow (nothing is run for it)"
                        : Toml.quote(s.value()) + " is not a recovery method";
                problem(s.line(), "'methods' in [recovery]: " + why + "; allowed: " + String.join(", ", allowed)
                        + didYouMean(s.value(), allowed, "'", "'") + " (e.g. methods = " + example + ")");
                ok = false;
            } else if (!out.add(m.get())) {
                problem(s.line(), "'methods' in [recovery] lists " + Toml.quote(s.value()) + " twice");
                ok = false;
            }
        }
        return ok ? Optional.of(out) : Optional.empty();
    }

    private Optional<List<String>> resetMethods(Keys k, String s) {
        if (s.isBlank()) return Optional.of(List.of());
        var tokens = List.of(s.trim().split("[ \t]+"));
        for (var t : tokens) {
            if (!Config.RESET_METHODS.contains(t)) {
                k.bad("reset_method", "names " + Toml.quote(t) + ", not a kernel reset method; allowed: " + String.join(", ", Config.RESET_METHODS)
                        + ", separated by spaces, or \"\" to leave it as it is" + didYouMean(t, Config.RESET_METHODS, "'", "'"), "\"flr bus\"");
                return Optional.empty();
            }
        }
        if (Set.copyOf(tokens).size() != tokens.size()) {
            k.bad("reset_method", "names a method twice: " + Toml.quote(s), "\"flr bus\"");
            return Optional.empty();
        }
        return Optional.of(tokens);
    }

    private Config.Safety safety(Keys k) {
        var d = Config.Safety.DEFAULT;
        return new Config.Safety(
                k.integer("budget", 1, d.budget()).orElse(d.budget()),
                k.duration("budget_window", false, d.budgetWindow()).orElse(d.budgetWindow()),
                k.integer("flap_count", 2, d.flapCount()).orElse(d.flapCount()),
                k.duration("flap_window", false, d.flapWindow()).orElse(d.flapWindow()),
                k.choice("quarantine", io.unwedge.core.safety.QuarantineMode.values()).orElse(d.quarantine()));
    }

    private Config.Unknown unknown(Keys k) {
        var d = Config.Unknown.DEFAULT;
        var policy = k.choice("policy", Config.Unknown.Policy.values()).orElse(d.policy());
        var command = k.command("command").orElse(d.command());
        if (policy != Config.Unknown.Policy.ALERT && command.isEmpty()) {
            // a command that was given but wrong is reported already
            if (!k.failed("command")) {
                k.bad("policy", "is " + Toml.quote(policy.toString()) + ", which runs a command: give one as 'command' in [unknown]", COMMAND_EXAMPLE, "command");
            }
            return d;
        }
        return new Config.Unknown(policy, command);
    }

    private Config.None none(Keys k) {
        var d = Config.None.DEFAULT;
        var action = k.choice("action", Config.None.Action.values()).orElse(d.action());
        var command = k.command("command").orElse(d.command());
        if (action == Config.None.Action.HOOK && command.isEmpty()) {
            if (!k.failed("command")) {
                k.bad("action", "is \"hook\", which runs a command: give one as 'command' in [none]", COMMAND_EXAMPLE, "command");
            }
            action = d.action();
            command = d.command();
        }
        return new Config.None(k.bool("devcoredump").orElse(d.devcoredump()),
                k.integer("offences", 1, d.offences()).orElse(d.offences()),
                k.duration("offence_window", false, d.offenceWindow()).orElse(d.offenceWindow()),
                action, command);
    }

    private Map<String, Config.Vendor> vendors(Toml.Table root) {
        var out = new LinkedHashMap<String, Config.Vendor>();
        for (var t : perItem(root, "vendor", "[vendor.xe]", "driver")) {
            String name = t.path().getLast();
            if (!Config.DRIVER.matcher(name).matches()) {
                problem(t.line(), t.header() + ": " + Toml.quote(name) + " is not a driver name (letters, digits, '_' and '-'), e.g. [vendor.xe]");
                continue;
            }
            var k = new Keys(t, VENDOR_KEYS, List.of());
            out.put(name, new Config.Vendor(k.command("command").orElse(Command.NONE)));
        }
        return out;
    }

    private Config.Hooks hooks(Keys k) {
        var d = Config.Hooks.DEFAULT;
        return new Config.Hooks(k.command("pre_recovery").orElse(d.preRecovery()), k.command("post_recovery").orElse(d.postRecovery()),
                k.duration("timeout", false, d.timeout()).orElse(d.timeout()));
    }

    // ------------------------------------------------------------------------------------ structure

    /** The keys of a top-level table (empty if the file has none), its unknown keys and sub-tables reported. */
    private Keys keys(Toml.Table root, String name) {
        var path = List.of(name);
        var t = root.entries().get(name) instanceof Toml.Table found ? found : new Toml.Table(path, 0, Map.of());
        return new Keys(t, KEYS.get(name), SUBTABLES.getOrDefault(name, List.of()));
    }

    /**
     * The tables under {@code parent.name} ({@code [drain.driver.xe]}, {@code [vendor.xe]}): one per item,
     * each a table; a value there is reported.
     */
    private List<Toml.Table> perItem(Toml.Table parent, String name, String example, String item) {
        var node = parent.entries().get(name);
        if (!(node instanceof Toml.Table t)) return List.of(); // absent, or a value Keys reported
        var out = new ArrayList<Toml.Table>();
        for (var e : t.entries().entrySet()) {
            if (e.getValue() instanceof Toml.Table sub) {
                out.add(sub);
            } else {
                problem(((Toml.Value) e.getValue()).line(), t.header() + " holds one table per " + item + ", e.g. " + example
                        + "; '" + e.getKey() + "' belongs in one");
            }
        }
        return out;
    }

    /** One table's values, read by kind; a wrong one is reported once and reads as absent. */
    private final class Keys {
        final Toml.Table table;
        final Set<String> failed = new java.util.HashSet<>();

        Keys(Toml.Table table, List<String> known, List<String> subtables) {
            this.table = table;
            for (var e : table.entries().entrySet()) {
                String k = e.getKey();
                switch (e.getValue()) {
                    case Toml.Value v when known.contains(k) -> { }
                    case Toml.Value v when subtables.contains(k) -> problem(v.line(), "'" + k + "' in " + table.header()
                            + " must be tables, one per " + k + ", e.g. [" + Toml.dotted(table.path()) + "." + k + "."
                            + (k.equals("device") ? "\"0000:03:00.0\"" : "xe") + "], not a value");
                    case Toml.Value v -> problem(v.line(), "unknown key '" + k + "' in " + table.header() + didYouMean(k, known, "'", "'"));
                    case Toml.Table t when subtables.contains(k) -> { }
                    case Toml.Table t when known.contains(k) -> problem(t.line(), "'" + k + "' in " + table.header()
                            + " is a key, not a table: write " + k + " = … under " + table.header());
                    case Toml.Table t -> problem(t.line(), "unknown table " + t.header() + didYouMean(k, subtables, "'", "'"));
                }
            }
        }

        Optional<Toml.Value> value(String key) {
            return table.entries().get(key) instanceof Toml.Value v ? Optional.of(v) : Optional.empty();
        }

        boolean failed(String key) {
            return failed.contains(key);
        }

        /** Reports {@code key}'s value: "'key' in [t] {what} (e.g. key = example)". */
        void bad(String key, String what, String example) {
            bad(key, what, example, key);
        }

        void bad(String key, String what, String example, String exampleKey) {
            failed.add(key);
            int line = value(key).map(Toml.Value::line).orElse(table.line());
            problem(line, "'" + key + "' in " + table.header() + " " + what + " (e.g. " + exampleKey + " = " + example + ")");
        }

        void badItem(String key, Toml.Value item, String kind, String example) {
            failed.add(key);
            problem(item.line(), "'" + key + "' in " + table.header() + " must be an array of strings; it holds " + item.kind()
                    + " (" + Toml.write(item) + ") where " + kind + " goes (e.g. " + key + " = " + example + ")");
        }

        Optional<Boolean> bool(String key) {
            var v = value(key);
            if (v.isEmpty()) return Optional.empty();
            if (v.get() instanceof Toml.Bool b) return Optional.of(b.value());
            bad(key, "must be true or false, not " + v.get().kind(), "true");
            return Optional.empty();
        }

        Optional<Integer> integer(String key, int min, int example) {
            var v = value(key);
            if (v.isEmpty()) return Optional.empty();
            if (!(v.get() instanceof Toml.Int n)) {
                bad(key, "must be a whole number, not " + v.get().kind(), Integer.toString(example));
                return Optional.empty();
            }
            if (n.value() < min) {
                bad(key, "must be at least " + min + ", not " + n.value(), Integer.toString(example));
                return Optional.empty();
            }
            if (n.value() > Integer.MAX_VALUE) {
                bad(key, "is too large: " + n.value(), Integer.toString(example));
                return Optional.empty();
            }
            return Optional.of((int) n.value());
        }

        Optional<String> string(String key, String example) {
            var v = value(key);
            if (v.isEmpty()) return Optional.empty();
            if (v.get() instanceof Toml.Str s) return Optional.of(s.value());
            bad(key, "must be a string, not " + v.get().kind(), example);
            return Optional.empty();
        }

        Optional<Duration> duration(String key, boolean zeroOk, Duration example) {
            String ex = Toml.quote(Config.formatDuration(example));
            var v = value(key);
            if (v.isEmpty()) return Optional.empty();
            if (v.get() instanceof Toml.Int n) {
                bad(key, "is a bare number (" + n.value() + "): a duration is a string with a unit, " + UNITS, ex);
                return Optional.empty();
            }
            if (!(v.get() instanceof Toml.Str s)) {
                bad(key, "must be a duration such as " + ex + ", not " + v.get().kind(), ex);
                return Optional.empty();
            }
            String text = s.value();
            var d = Config.parseDuration(text);
            if (d.isEmpty()) {
                String why;
                if (text.startsWith("-")) why = "must not be negative: " + Toml.quote(s.value());
                else if (text.matches("[0-9]+")) why = "is a bare number (" + Toml.quote(s.value()) + "): a duration needs a unit, " + UNITS;
                else if (text.matches("[0-9]+(ms|s|m|h|d)")) why = "is too long: " + Toml.quote(s.value()) + " (at most " + LONGEST + ")";
                else if (text.matches("[0-9]+[A-Za-z]+")) why = "has an unknown unit: " + Toml.quote(s.value()) + "; " + UNITS;
                else why = "is not a duration: " + Toml.quote(s.value()) + "; a duration is a whole number and a unit, " + UNITS;
                bad(key, why, ex);
                return Optional.empty();
            }
            if (!zeroOk && d.get().isZero()) {
                bad(key, "must be more than zero", ex);
                return Optional.empty();
            }
            return d;
        }

        <E extends Enum<E>> Optional<E> choice(String key, E[] values) {
            var tokens = new ArrayList<String>();
            for (var e : values) tokens.add(Config.token(e));
            String example = Toml.quote(tokens.getFirst());
            var s = string(key, example);
            if (s.isEmpty()) return Optional.empty();
            for (var e : values) if (Config.token(e).equals(s.get())) return Optional.of(e);
            bad(key, "must be one of " + String.join(", ", tokens) + ", not " + Toml.quote(s.get())
                    + didYouMean(s.get(), tokens, "'", "'"), example);
            return Optional.empty();
        }

        Optional<Toml.Arr> array(String key, String example) {
            var v = value(key);
            if (v.isEmpty()) return Optional.empty();
            if (v.get() instanceof Toml.Arr a) return Optional.of(a);
            bad(key, "must be an array of strings, not " + v.get().kind(), example);
            return Optional.empty();
        }

        Optional<List<String>> strings(String key, String example) {
            var a = array(key, example);
            if (a.isEmpty()) return Optional.empty();
            var out = new ArrayList<String>();
            for (var item : a.get().items()) {
                if (!(item instanceof Toml.Str s)) {
                    badItem(key, item, "a string", example);
                    return Optional.empty();
                }
                out.add(s.value());
            }
            return Optional.of(out);
        }

        Optional<Command> command(String key) {
            var argv = strings(key, COMMAND_EXAMPLE);
            if (argv.isEmpty()) return Optional.empty();
            var p = Command.problem(argv.get());
            if (p.isPresent()) {
                bad(key, "is not a command: " + p.get(), COMMAND_EXAMPLE);
                return Optional.empty();
            }
            return Optional.of(new Command(argv.get()));
        }
    }

    private void problem(int line, String message) {
        problems.add(new Problem(line, message));
    }

    // ------------------------------------------------------------------------------------ suggestions

    /** "; did you mean 'grace'?" when one known name is close to {@code given}, else "". */
    static String didYouMean(String given, Collection<String> known, String open, String close) {
        return nearest(given, known).map(n -> "; did you mean " + open + n + close + "?").orElse("");
    }

    /**
     * The known name nearest {@code given} by edit distance (case and '-'/'_' aside), if near enough to be a
     * typo: one edit for short names, two from five characters on. The first of equals wins.
     */
    static Optional<String> nearest(String given, Collection<String> known) {
        String g = fold(given);
        int limit = g.length() >= 5 ? 2 : 1;
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (var k : known) {
            int d = distance(g, fold(k));
            if (d <= limit && d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        return Optional.ofNullable(best);
    }

    private static String fold(String s) {
        return s.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    /** Levenshtein distance; long inputs are not names, and are not compared. */
    static int distance(String a, String b) {
        if (a.length() > 64 || b.length() > 64) return Integer.MAX_VALUE;
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            var t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
