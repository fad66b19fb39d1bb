package io.unwedge.daemon;

import io.unwedge.core.GpuDevice;

/**
 * Whether the driver instance a recovery unbound (or removed) is known gone, as its uevents tell. The kernel
 * sends the function's {@code unbind} or {@code remove}, and its card's {@code remove}, within the write that
 * takes the instance away, after every wedge that instance sent: until one of them has been read, a wedge
 * read from the mailbox is the old instance's, however late it is handed over (a drain reads no uevents; on a
 * real kernel the unbind's and bind's writes return done, and their waits read nothing), not a re-wedge of
 * the instance the bind brings up.
 */
final class Departure {

    private String devpath; // the function's, while its departure is expected; null otherwise

    /** The unbind or remove of {@code device} is about to be written. */
    void expect(GpuDevice device) {
        devpath = "/" + device.sysPath();
    }

    /** Notes a message read from the mailbox (null: none came). */
    void saw(ActorMessage m) {
        if (devpath == null) return;
        if (m instanceof ActorMessage.Observed(var u) && (u.action().equals("unbind") || u.action().equals("remove"))
                && (u.devpath().equals(devpath) || u.devpath().startsWith(devpath + "/drm/"))) {
            devpath = null;
        } else if (m instanceof ActorMessage.Resync) {
            devpath = null; // uevents were lost, that one maybe: from here on a wedge is taken as new
        }
    }

    /** Whether a wedge read now was sent by the old instance. */
    boolean pending() {
        return devpath != null;
    }
}
