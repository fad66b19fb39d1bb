package io.unwedge.host.netlink;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Knowing that a thread is really asleep in poll(2), so a test of "close wakes a blocked reader" tests
 * the wake-up and not a close that happened to come first. Reads /proc, no sleeping.
 */
public final class BlockedThreads {

    private BlockedThreads() {}

    /** The calling thread's kernel task id, from /proc/thread-self → "<pid>/task/<tid>". */
    public static String currentTid() throws IOException {
        return Path.of("/proc/thread-self").toRealPath().getFileName().toString();
    }

    /** Spins until task {@code tid} sleeps in poll or ppoll; gives up (returns false) after ~10 s. */
    public static boolean awaitInPoll(String tid) throws IOException {
        var task = Path.of("/proc/self/task", tid);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            String syscall = Files.readString(task.resolve("syscall")).trim();
            String wchan = Files.readString(task.resolve("wchan")).trim();
            String number = syscall.split(" ", 2)[0];
            // x86_64: 7 = poll, 271 = ppoll; aarch64 has only ppoll = 73. wchan names the sleep when visible.
            boolean inPoll = wchan.contains("poll") || number.equals("7") || number.equals("271")
                    || (number.equals("73") && System.getProperty("os.arch").equals("aarch64"));
            if (inPoll && state(task) == 'S') return true;
            Thread.onSpinWait();
        }
        return false;
    }

    private static char state(Path task) throws IOException {
        String stat = Files.readString(task.resolve("stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2);
    }
}
