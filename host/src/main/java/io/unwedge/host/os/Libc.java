package io.unwedge.host.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The FFM mechanics every OS-area class shares: linking a libc function once, with errno captured right
 * after the call (the JVM may run code that clobbers errno before Java could read it), and the single
 * place where EINTR is retried.
 *
 * <p>Convention, as in netty's native transport: a wrapped call returns its non-negative result or
 * {@code -errno}; callers decide which errnos are outcomes (EAGAIN, ENOBUFS) and turn the rest into
 * an {@link OsException}.
 */
final class Libc {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final StructLayout CAPTURE_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_STATE.varHandle(PathElement.groupElement("errno"));

    private Libc() {}

    /** Links {@code name} from the C library; the handle takes the errno capture segment first. */
    static MethodHandle function(String name, FunctionDescriptor descriptor) {
        var symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, CAPTURE_ERRNO);
    }

    /**
     * Links a variadic libc function such as {@code syscall(2)}: the arguments from {@code firstVariadic}
     * on are passed as C varargs (give them as {@code long}, the width the kernel reads them at).
     */
    static MethodHandle variadic(String name, FunctionDescriptor descriptor, int firstVariadic) {
        var symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadic));
    }

    /** One native call; {@code errnoState} must be passed as the handle's first argument. */
    @FunctionalInterface
    interface Call {
        long invoke(MemorySegment errnoState) throws Throwable;
    }

    /**
     * Runs {@code call} until it does not fail with EINTR (a signal landed while the thread slept in the
     * kernel: nothing happened, so it is safe to ask again). Returns the result, or {@code -errno}.
     */
    static long retrying(Arena arena, Call call) {
        var state = arena.allocate(CAPTURE_STATE);
        for (;;) {
            long r = invoke(call, state);
            if (r != -1) return r;
            int errno = (int) ERRNO.get(state, 0L);
            if (errno != Errno.EINTR) return -errno;
        }
    }

    /**
     * Runs {@code call} exactly once. Only for close(2): on Linux the descriptor is released even when
     * close fails with EINTR, and retrying could close a number another thread has just been given.
     */
    static long once(Arena arena, Call call) {
        var state = arena.allocate(CAPTURE_STATE);
        long r = invoke(call, state);
        return r != -1 ? r : -(int) ERRNO.get(state, 0L);
    }

    /** An errno capture segment, for a caller that reuses one across calls (see {@link #errno}). */
    static MemorySegment errnoState(Arena arena) {
        return arena.allocate(CAPTURE_STATE);
    }

    /** The errno a call captured into {@code state}. */
    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static long invoke(Call call, MemorySegment state) {
        try {
            return call.invoke(state);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            // invokeExact declares Throwable; a downcall itself throws nothing checked.
            throw new AssertionError(t);
        }
    }
}
