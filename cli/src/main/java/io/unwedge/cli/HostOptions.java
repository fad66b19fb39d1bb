package io.unwedge.cli;

import io.unwedge.host.sysfs.Sysfs;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where a command looks: a sysfs root (the real /sys unless --sysfs names a virtual host's) and the daemon's state beside it. */
final class HostOptions {

    @Option(names = "--sysfs", description = "sysfs root (default: the real /sys)") Path sysfs;
    @Option(names = "--state-dir", description = "where the journal is (default: the daemon's, /var/lib/unwedge, or DIR/state beside --sysfs)")
    Path stateDir;

    boolean virtual() {
        return sysfs != null;
    }

    /** The sysfs root; a named one must look like one. */
    Sysfs sysfs() {
        var root = new Sysfs(sysfs == null ? Sysfs.REAL_ROOT : sysfs);
        if (!Files.isDirectory(root.devices())) throw new Main.UsageError(root.root() + " has no devices/ directory: not a sysfs root");
        return root;
    }

    /**
     * {@code --state-dir}, else {@code DIR/state} beside a virtual {@code DIR/sys}, else {@code production} (asked
     * only then: it reads the config file, which need not be readable when the answer is on the command line).
     */
    Path stateDir(java.util.concurrent.Callable<Path> production) throws Exception {
        if (stateDir != null) return stateDir;
        return sysfs == null ? production.call() : sysfs.toAbsolutePath().normalize().getParent().resolve("state");
    }
}
