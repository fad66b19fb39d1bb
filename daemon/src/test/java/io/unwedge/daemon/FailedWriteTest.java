package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Step;
import io.unwedge.daemon.Recovery.WriteFailure;
import org.junit.jupiter.api.Test;

/** What a failed sysfs write means (the kernel's errors as the JDK words them: strerror). */
class FailedWriteTest {

    @Test
    void anUnbindWhoseEffectHoldsIsDoneWhateverItsError() {
        assertThat(Recovery.failedWrite(Step.UNBIND, "No such device", () -> true)).isEqualTo(WriteFailure.ALREADY_DONE);
        assertThat(Recovery.failedWrite(Step.UNBIND, "No such device", () -> false)).isEqualTo(WriteFailure.FAILED);
        assertThat(Recovery.failedWrite(Step.REMOVE, "No such device", () -> true)).isEqualTo(WriteFailure.ALREADY_DONE);
    }

    @Test
    void aBindsBusyIsAutoprobeAndItsTryAgainADeferredProbe() {
        assertThat(Recovery.failedWrite(Step.BIND, "Device or resource busy", () -> false)).isEqualTo(WriteFailure.ALREADY_DONE);
        assertThat(Recovery.failedWrite(Step.BIND, "Resource temporarily unavailable", () -> false)).isEqualTo(WriteFailure.DEFERRED);
        assertThat(Recovery.failedWrite(Step.BIND, "No such device", () -> false)).isEqualTo(WriteFailure.FAILED);
        assertThat(Recovery.failedWrite(Step.BIND, null, () -> false)).isEqualTo(WriteFailure.FAILED);
    }

    @Test
    void stepsWithoutAnEffectToReadBackFailOnAnyError() {
        // a power write's "done" is no reading of anything: its failure must show
        assertThat(Recovery.failedWrite(Step.POWER_ON, "Input/output error", () -> true)).isEqualTo(WriteFailure.FAILED);
        assertThat(Recovery.failedWrite(Step.RESET, "Inappropriate ioctl for device", () -> true)).isEqualTo(WriteFailure.FAILED);
        assertThat(Recovery.failedWrite(Step.UNBIND, "Device or resource busy", () -> false)).as("busy means done only for a bind")
                .isEqualTo(WriteFailure.FAILED);
    }
}
