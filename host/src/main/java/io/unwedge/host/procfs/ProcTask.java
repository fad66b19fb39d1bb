package io.unwedge.host.procfs;

import io.unwedge.core.holders.Placement;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One process as {@code <proc>/<pid>} shows it now: its comm, its executable, where it runs and its uid. What
 * the daemon needs to judge a task a driver named ({@code PID=}/{@code TASK=}) that need not hold the device.
 * A snapshot: the pid may name another process a moment later (a caller that will signal holds a pidfd
 * across the read, see {@link io.unwedge.host.os.Pidfd}).
 *
 * @param comm        {@code comm} without its newline: the kernel's 15-character name, as {@code TASK=} carries it
 * @param exe         the {@code exe} link's target, without the kernel's {@code " (deleted)"} for a replaced binary
 *                    (an upgraded program is still the same program); empty when it cannot be read
 * @param exeUnknown  why {@code exe} is empty (a kernel thread has none; another user's needs root)
 */
public record ProcTask(int pid, String comm, Optional<String> exe, Optional<String> exeUnknown, Placement placement, OptionalInt uid) {

    private static final String DELETED = " (deleted)";

    public ProcTask {
        if (pid <= 0) throw new IllegalArgumentException("pid must be positive: " + pid);
        Objects.requireNonNull(comm);
        Objects.requireNonNull(exe);
        Objects.requireNonNull(exeUnknown);
        Objects.requireNonNull(placement);
        Objects.requireNonNull(uid);
    }

    /** The process {@code pid} of the procfs root {@code proc}; empty when there is none (it exited, or never was). */
    public static Optional<ProcTask> read(Path proc, int pid) {
        if (pid <= 0) return Optional.empty();
        Path dir = proc.resolve(Integer.toString(pid));
        try {
            String comm = HolderScan.read(dir.resolve("comm"));
            if (comm.endsWith("\n")) comm = comm.substring(0, comm.length() - 1);
            Optional<String> exe = Optional.empty();
            Optional<String> why = Optional.empty();
            try {
                String target = Files.readSymbolicLink(dir.resolve("exe")).toString();
                if (target.endsWith(DELETED)) target = target.substring(0, target.length() - DELETED.length());
                if (target.startsWith("/")) exe = Optional.of(target);
                else why = Optional.of("its exe link is not a path: " + target);
            } catch (AccessDeniedException e) {
                why = Optional.of("its exe link cannot be read (permission denied)");
            } catch (NoSuchFileException e) {
                if (!Files.isDirectory(dir)) return Optional.empty();
                why = Optional.of("it has no executable (a kernel thread, or exiting)");
            } catch (IOException | UnsupportedOperationException e) {
                why = Optional.of("its exe link cannot be read: " + e.getMessage());
            }
            OptionalInt uid;
            try {
                uid = HolderScan.uid(dir);
            } catch (AccessDeniedException e) {
                uid = OptionalInt.empty();
            }
            return Optional.of(new ProcTask(pid, comm, exe, why, HolderScan.placement(dir), uid));
        } catch (IOException e) {
            return Optional.empty(); // gone while we looked (or never there): nothing to say about it
        }
    }
}
