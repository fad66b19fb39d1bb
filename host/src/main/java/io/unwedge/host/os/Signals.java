package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/**
 * kill(2) on this very process. Java has no way to SIGKILL itself ({@code ProcessHandle.current()} refuses
 * to destroy the current process), and a crash test needs exactly that: no shutdown hooks, no finally
 * blocks, no flushing — the state on disk is what a power cut or an OOM kill would leave.
 */
public final class Signals {

    public static final int SIGKILL = 9;

    private static final MethodHandle GETPID = Libc.function("getpid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle KILL = Libc.function("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    private Signals() {}

    /** SIGKILLs the calling process; does not return unless kill(2) failed. */
    public static void killSelf() throws OsException {
        try (var arena = Arena.ofConfined()) {
            int pid = (int) Libc.retrying(arena, s -> (int) GETPID.invokeExact(s));
            int r = (int) Libc.retrying(arena, s -> (int) KILL.invokeExact(s, pid, SIGKILL));
            if (r < 0) throw new OsException("kill", "SIGKILL to self (pid " + pid + ")", -r);
            // delivery is asynchronous to the return of kill(2) only in theory; never carry on past here
            while (true) Thread.onSpinWait();
        }
    }
}
