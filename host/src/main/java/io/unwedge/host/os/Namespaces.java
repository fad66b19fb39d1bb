package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/** Linux namespaces, unshare(2). */
public final class Namespaces {

    public static final int CLONE_NEWNET = 0x40000000;

    private static final MethodHandle UNSHARE = Libc.function("unshare",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private Namespaces() {}

    /**
     * unshare(2) for the calling thread only: a Java thread is a kernel task, and a network namespace is
     * a per-task attribute, so the rest of the process stays where it was.
     */
    public static void unshare(int flags, String what) throws OsException {
        try (var arena = Arena.ofConfined()) {
            int r = (int) Libc.retrying(arena, s -> (int) UNSHARE.invokeExact(s, flags));
            if (r < 0) throw new OsException("unshare", what, -r);
        }
    }
}
