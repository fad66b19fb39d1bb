package io.unwedge.host.netlink;

import io.unwedge.host.os.Errno;
import io.unwedge.host.os.Namespaces;
import io.unwedge.host.os.OsException;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A private network namespace inside this JVM, for tests and the simulator.
 *
 * <p>A network namespace belongs to a kernel task, and a Java platform thread is one task, so
 * unshare(CLONE_NEWNET) on a dedicated platform thread moves that thread alone; the rest of the process
 * stays in its namespace. A socket is bound to the namespace of the task that created it for its whole
 * life, so sockets created through {@link #call} stay in the private namespace when other threads use
 * them. Injected uevents are broadcast only there, and no udevd or other listener on the host sees them.
 *
 * <p>The namespace is owned by the initial user namespace, so the kernel also broadcasts the host's real
 * uevents into it: listeners must pick out their own events.
 */
public final class PrivateNetns implements AutoCloseable {

    private static final Runnable STOP = () -> {};

    private final Thread thread;
    private final LinkedBlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    private boolean closed;  // guarded by tasks; once set, STOP is the last task ever queued

    private PrivateNetns(String name, CompletableFuture<Void> ready) {
        thread = Thread.ofPlatform().name(name).daemon().unstarted(() -> run(ready));
    }

    /** Why no private namespace can be made here, or empty if it can. Probed once, then cached. */
    public static Optional<String> unavailableReason() {
        return Probe.REASON;
    }

    /** Lazy holder; the probe itself lives outside it, since its task runs on another thread. */
    private static final class Probe {
        static final Optional<String> REASON = probe();
    }

    private static Optional<String> probe() {
        try (var netns = create()) {
            // A uevent socket must also be bindable there: the target of every test.
            netns.call(() -> {
                NetlinkUeventSource.open(64 * 1024).close();
                return null;
            });
            return Optional.empty();
        } catch (OsException e) {
            if (e.errno() == Errno.EPERM && e.syscall().equals("unshare")) {
                return Optional.of(e.getMessage() + " — run as root or with CAP_SYS_ADMIN");
            }
            return Optional.of(e.getMessage());
        } catch (IllegalCallerException e) {
            return Optional.of("native access is disabled — run java with --enable-native-access=ALL-UNNAMED");
        } catch (Exception e) {
            return Optional.of(e.toString());
        }
    }

    /** Starts the namespace's thread and moves it into a new network namespace. */
    public static PrivateNetns create() throws OsException {
        var ready = new CompletableFuture<Void>();
        var netns = new PrivateNetns("unwedge-netns", ready);
        netns.thread.start();
        try {
            ready.join();
            return netns;
        } catch (java.util.concurrent.CompletionException e) {
            netns.close();
            if (e.getCause() instanceof OsException os) throw os;
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
    }

    private void run(CompletableFuture<Void> ready) {
        try {
            Namespaces.unshare(Namespaces.CLONE_NEWNET, "CLONE_NEWNET");
        } catch (Throwable t) {
            ready.completeExceptionally(t);
            return;  // the thread ends still in the original namespace
        }
        ready.complete(null);
        try {
            for (Runnable task; (task = tasks.take()) != STOP; ) task.run();
        } catch (InterruptedException e) {
            // close() from an interrupted caller; nothing to clean up
        }
    }

    /**
     * Runs {@code task} on the namespace's thread and returns its result, or throws what it threw.
     * Sockets opened by the task live in the private namespace.
     */
    public <T> T call(Callable<T> task) throws Exception {
        if (Thread.currentThread() == thread) return task.call();
        var future = new FutureTask<>(task);
        synchronized (tasks) {
            if (closed) throw new IllegalStateException("private network namespace is closed");
            tasks.add(future);
        }
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) throw ex;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    /** Ends the thread; the namespace goes away with it unless sockets created there still hold it. */
    @Override
    public void close() {
        synchronized (tasks) {
            if (closed) return;
            closed = true;
            tasks.add(STOP);
        }
        boolean interrupted = false;
        for (;;) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
