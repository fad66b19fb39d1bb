package io.unwedge.core.holders;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DrmFdinfoTest {

    static Path vectors() {
        var env = System.getenv("UNWEDGE_SHARED");
        var shared = env != null && !env.isBlank() ? Path.of(env) : Path.of("../../shared");
        var dir = shared.resolve("vectors/fdinfo");
        if (!Files.isDirectory(dir)) throw new IllegalStateException("no fdinfo vectors at " + dir.toAbsolutePath() + " (set UNWEDGE_SHARED)");
        return dir;
    }

    static String vector(String name) throws IOException {
        return Files.readString(vectors().resolve(name));
    }

    static PciAddress bdf(String s) {
        return PciAddress.parse(s).orElseThrow();
    }

    @Test
    void amdgpuVectorGivesItsClient() throws IOException {
        var f = DrmFdinfo.parse(vector("amdgpu-current"));
        assertThat(f.driver()).contains("amdgpu");
        assertThat(f.clientId()).hasValue(217);
        assertThat(f.pdev()).contains(bdf("0000:08:00.0"));
        assertThat(f.client()).contains(new DrmClient(bdf("0000:08:00.0"), 217));
        assertThat(f.clientName()).isEmpty();
        assertThat(f.isDmaBuf()).isFalse();
    }

    @Test
    void xeVectorGivesItsClientPastTheGenericLines() throws IOException {
        var f = DrmFdinfo.parse(vector("xe-reference"));
        assertThat(f.driver()).contains("xe");
        assertThat(f.client()).contains(new DrmClient(bdf("0000:03:00.0"), 3));
    }

    @Test
    void oneBadLineNeverDropsTheFile() throws IOException {
        String text = vector("xe-reference").replace("drm-total-gtt:\t192 KiB", "drm-total-gtt\u0000\u0007:::garbage\nno colon at all\n:\n");
        assertThat(DrmFdinfo.parse(text).client()).contains(new DrmClient(bdf("0000:03:00.0"), 3));
        String badId = "drm-driver:\ti915\ndrm-client-id:\tnot-a-number\ndrm-pdev:\t0000:00:02.0\ndrm-client-name:\tfirefox\n";
        var f = DrmFdinfo.parse(badId);
        assertThat(f.driver()).contains("i915");
        assertThat(f.clientId()).isEmpty();
        assertThat(f.pdev()).contains(bdf("0000:00:02.0"));
        assertThat(f.clientName()).contains("firefox");
        assertThat(f.client()).isEmpty();
    }

    @Test
    void aNonPciPdevIsKeptRawButIsNoBdf() {
        var f = DrmFdinfo.parse("drm-driver:\tpanfrost\ndrm-pdev:\tfde60000.gpu\ndrm-client-id:\t9\n");
        assertThat(f.pdev()).isEmpty();
        assertThat(f.rawPdev()).contains("fde60000.gpu");
        assertThat(f.client()).isEmpty();
    }

    @Test
    void dmaBufExporterIsRead() {
        var f = DrmFdinfo.parse("pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t1051\nsize:\t8294400\ncount:\t1\nexp_name:\tdrm\nname:\t\n");
        assertThat(f.isDmaBuf()).isTrue();
        assertThat(f.expName()).contains("drm");
        assertThat(f.isDrm()).isFalse();
    }

    @Test
    void firstOccurrenceWinsAndPaddingIsTrimmed() {
        var f = DrmFdinfo.parse("drm-driver: \t xe \t\ndrm-driver:\tevil\ndrm-client-id:\t  7\r\ndrm-client-id:\t8\n");
        assertThat(f.driver()).contains("xe");
        assertThat(f.clientId()).hasValue(7);
    }

    @Test
    void hostileInputsGiveAValue() {
        assertThat(DrmFdinfo.parse(null)).isEqualTo(DrmFdinfo.EMPTY);
        assertThat(DrmFdinfo.parse("")).isEqualTo(DrmFdinfo.EMPTY);
        assertThat(DrmFdinfo.parse("\n\n\n:::\n")).isEqualTo(DrmFdinfo.EMPTY);
        assertThat(DrmFdinfo.parse("drm-client-id:\t-1\n").clientId()).isEmpty();
        assertThat(DrmFdinfo.parse("drm-client-id:\t99999999999999999999999\n").clientId()).isEqualTo(OptionalLong.empty());
        assertThat(DrmFdinfo.parse("drm-client-id:\t１２\n").clientId()).isEmpty();
        assertThat(DrmFdinfo.parse("drm-driver:\t" + "x".repeat(10_000) + "\n").driver()).isEmpty();
        assertThat(DrmFdinfo.parse("drm-pdev:\t0000:08:00.0 \u202e\n").pdev()).isEqualTo(Optional.empty());
        assertThat(DrmFdinfo.parse("drm-driver:\tx\u001b[2Jy\n").driver()).isEmpty();
        var random = new Random(42);
        for (int i = 0; i < 2_000; i++) {
            var sb = new StringBuilder();
            for (int j = random.nextInt(200); j > 0; j--) sb.append((char) random.nextInt(0x80));
            DrmFdinfo.parse("drm-driver:\txe\n" + sb + "\ndrm-client-id:\t5\n");
        }
        // whatever noise sits between them, the good lines still count
        assertThat(DrmFdinfo.parse("drm-driver:\txe\n\u0000\u00ff\ndrm-client-id:\t5\n").clientId()).hasValue(5);
    }
}
