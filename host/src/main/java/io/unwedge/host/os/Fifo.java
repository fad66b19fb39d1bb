package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * mkfifo(3). The virtual host's {@code bind}/{@code unbind} are FIFOs: as in sysfs, every write() is
 * one request that the driver model sees on its own, even when two writers race.
 */
public final class Fifo {

    // int mkfifo(const char *pathname, mode_t mode);
    private static final MethodHandle MKFIFO = Libc.function("mkfifo", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

    private Fifo() {}

    public static void create(Path path, int mode) throws OsException {
        try (var arena = Arena.ofConfined()) {
            var name = arena.allocateFrom(path.toString());
            long r = Libc.retrying(arena, errno -> (int) MKFIFO.invokeExact(errno, name, mode));
            if (r < 0) throw new OsException("mkfifo", path, (int) -r);
        }
    }
}
