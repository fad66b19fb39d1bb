package io.unwedge.host.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OsExceptionTest {

    @Test
    void messageNamesCallSubjectAndErrno() {
        var e = new OsException("bind", "NETLINK_KOBJECT_UEVENT", Errno.EPERM);
        assertThat(e).hasMessage("bind(NETLINK_KOBJECT_UEVENT): EPERM (Operation not permitted)");
        assertThat(e.syscall()).isEqualTo("bind");
        assertThat(e.errno()).isEqualTo(1);
        assertThat(e.path()).isEmpty();
        assertThat(e).isInstanceOf(java.io.IOException.class);
    }

    @Test
    void pathIsKept() {
        var e = new OsException("inotify_add_watch", Path.of("/run/unwedge"), Errno.ENOENT);
        assertThat(e.path()).contains("/run/unwedge");
        assertThat(e).hasMessage("inotify_add_watch(/run/unwedge): ENOENT (No such file or directory)");
    }

    @Test
    void errnoTableHasTheOnesWeBranchOnAndSaysSoForTheRest() {
        assertThat(Errno.describe(Errno.ENOBUFS)).isEqualTo("ENOBUFS (No buffer space available)");
        assertThat(Errno.describe(Errno.EAGAIN)).isEqualTo("EAGAIN (Resource temporarily unavailable)");
        assertThat(Errno.describe(Errno.EINTR)).isEqualTo("EINTR (Interrupted system call)");
        assertThat(Errno.describe(Errno.EBADF)).isEqualTo("EBADF (Bad file descriptor)");
        assertThat(Errno.describe(Errno.EINVAL)).isEqualTo("EINVAL (Invalid argument)");
        assertThat(Errno.describe(4095)).isEqualTo("errno 4095 (Unknown error 4095)");
    }

    @Test
    void aClosedDescriptorFailsLikeTheKernelWouldAndClosesOnce() throws Exception {
        var w = Wakeup.open();
        w.wake();
        w.wake();
        w.close();
        w.close();
        assertThat(w.isWoken()).isTrue();
    }
}
