package io.unwedge.daemon;

import java.util.List;
import java.util.Map;

/**
 * Runs the operator's commands: pre/post-recovery hooks, the unknown policy's hook or reboot request, a
 * vendor command, a firmware flash. The one seam between a recovery and other programs.
 */
interface Commands {

    /**
     * @param phase what the command is for, e.g. {@code pre}, {@code vendor}, {@code unknown}
     * @param env   added to the command's environment (the event and, after a recovery, its outcome)
     */
    Ran run(String phase, List<String> argv, Map<String, String> env);

    /** @param ok exit status 0 within the time limit; {@code summary} says how it ended and what it printed */
    record Ran(boolean ok, String summary) {}

    /** Runs nothing: for rigs that configure no commands. */
    Commands NONE = (phase, argv, env) -> new Ran(false, "no command runner");
}
