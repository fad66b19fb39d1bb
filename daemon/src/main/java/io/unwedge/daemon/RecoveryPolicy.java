package io.unwedge.daemon;

import io.unwedge.core.MethodPolicy;
import io.unwedge.core.safety.SafetyPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What the operator configured about recoveries: the methods and how, the safety limits, and the hooks
 * run around every recovery.
 *
 * @param preRecovery  run before the drain of each attempt; a failing hook is logged and does not stop the recovery
 * @param postRecovery run after each attempt, with its outcome in the environment
 * @param hookTimeout  how long any command (hook, handoff, vendor command) may run before it is killed
 * @param verifyIoctl  a recovered device must also answer {@code DRM_IOCTL_VERSION} on its render node
 */
public record RecoveryPolicy(MethodPolicy methods, SafetyPolicy safety, List<String> preRecovery, List<String> postRecovery,
                             Duration hookTimeout, boolean verifyIoctl) {

    public static final RecoveryPolicy DEFAULT = new RecoveryPolicy(MethodPolicy.DEFAULT, SafetyPolicy.DEFAULT, List.of(), List.of(),
            Duration.ofSeconds(30), false);

    public RecoveryPolicy {
        Objects.requireNonNull(methods);
        Objects.requireNonNull(safety);
        preRecovery = List.copyOf(preRecovery);
        postRecovery = List.copyOf(postRecovery);
        if (!hookTimeout.isPositive()) throw new IllegalArgumentException("hook timeout must be positive: " + hookTimeout);
    }
}
