package io.unwedge.host.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No DRM device here: what the probe must say about everything that is not one. */
class DrmIoctlTest {

    @Test
    void theRequestNumberIsTheKernels() {
        assertThat(DrmIoctl.DRM_IOCTL_VERSION).isEqualTo(0xC0406400L); // as strace prints DRM_IOCTL_VERSION
    }

    @Test
    void aRegularFileIsNoDrmNode(@TempDir Path dir) throws Exception {
        var node = Files.writeString(dir.resolve("renderD128"), ""); // the simulator's nodes are regular files
        assertThatThrownBy(() -> DrmIoctl.version(node)).isInstanceOfSatisfying(OsException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.ENOTTY);
            assertThat(e.getMessage()).contains("DRM_IOCTL_VERSION").contains(node.toString());
        });
    }

    @Test
    void aCharacterDeviceOfAnotherKindIsNoDrmNode() {
        assertThatThrownBy(() -> DrmIoctl.version(Path.of("/dev/null"))).isInstanceOfSatisfying(OsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENOTTY));
    }

    @Test
    void aMissingNodeSaysOpenFailed(@TempDir Path dir) {
        assertThatThrownBy(() -> DrmIoctl.version(dir.resolve("card9"))).isInstanceOfSatisfying(OsException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.ENOENT);
            assertThat(e.syscall()).isEqualTo("open");
        });
    }
}
