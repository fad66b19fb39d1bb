package io.unwedge.core;

/** The guilty task a driver may name ({@code PID=}/{@code TASK=}, v6.16+): comm is at most 15 bytes. */
public record TaskInfo(int pid, String comm) {
    public TaskInfo {
        if (pid < 0) throw new IllegalArgumentException("pid < 0: " + pid);
        if (comm == null || comm.isEmpty()) throw new IllegalArgumentException("empty comm");
    }

    @Override
    public String toString() {
        return comm + "[" + pid + "]";
    }
}
