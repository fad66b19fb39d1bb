package io.unwedge.core;

import static io.unwedge.core.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.unwedge.core.Rejected.Reason;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class UeventCodecTest {

    static final String XE = "change@/devices/pci0000:00/0000:03:00.0/drm/card0\0"
            + "ACTION=change\0DEVPATH=/devices/pci0000:00/0000:03:00.0/drm/card0\0SUBSYSTEM=drm\0"
            + "WEDGED=rebind,bus-reset\0MAJOR=226\0MINOR=0\0DEVNAME=dri/card0\0DEVTYPE=drm_minor\0SEQNUM=5208\0";

    static List<String> vectors() {
        return Vectors.names();
    }

    @Test
    void theSharedVectorsAreThere() {
        assertThat(Vectors.names()).contains("xe-rebind-bus-reset", "amdgpu-none-task", "igpu-hotplug-change",
                "pci-unbind", "xe-vendor-specific");
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void everyVectorDecodesToItsReadableForm(String name) {
        var u = Vectors.decoded(name);
        var text = Vectors.text(name);

        assertThat(u.action() + "@" + u.devpath()).isEqualTo(text.header());
        assertThat(List.copyOf(u.fields().entrySet())).as("fields in wire order").isEqualTo(text.fields());
        assertThat(u.get("ACTION")).isEqualTo(u.action());
        assertThat(u.get("DEVPATH")).isEqualTo(u.devpath());
        assertThat(u.fields().lastEntry().getKey()).as("the kernel appends SEQNUM last").isEqualTo("SEQNUM");
        assertThat(u.seqnum()).hasValue(Long.parseLong(u.get("SEQNUM")));
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void everyVectorReEncodesToItsBytes(String name) {
        var bytes = Vectors.bytes(name);
        assertThat(UeventCodec.encode(Vectors.decoded(name))).isEqualTo(bytes);
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void decodingHonoursOffsetAndLength(String name) {
        var bytes = Vectors.bytes(name);
        var framed = new byte[bytes.length + 7];
        Arrays.fill(framed, (byte) 'x');
        System.arraycopy(bytes, 0, framed, 3, bytes.length);

        assertThat(UeventCodec.decode(framed, 3, bytes.length)).isEqualTo(UeventCodec.decode(bytes));
    }

    /** One row per way a payload can fail to be a kernel uevent; every {@link Reason} appears. */
    static Stream<Arguments> rejections() {
        return Stream.of(
                arguments("empty", new byte[0], Reason.EMPTY),
                arguments("one byte over 8192", padTo(UeventCodec.MAX_SIZE + 1), Reason.TOO_LONG),
                arguments("no header, fields only", utf8("ACTION=change\0DEVPATH=/devices/x\0"), Reason.NO_HEADER),
                arguments("'@' without '/'", utf8("change@devices/x\0ACTION=change\0DEVPATH=devices/x\0"), Reason.NO_HEADER),
                arguments("empty action", utf8("@/devices/x\0ACTION=\0DEVPATH=/devices/x\0"), Reason.NO_HEADER),
                arguments("action not lower-case", utf8("Change@/devices/x\0ACTION=Change\0DEVPATH=/devices/x\0"), Reason.NO_HEADER),
                arguments("'@/' only in a field", utf8("change\0ACTION=change@/devices/x\0"), Reason.NO_HEADER),
                arguments("last NUL missing", Arrays.copyOf(utf8(XE), XE.length() - 1), Reason.NOT_NUL_TERMINATED),
                arguments("truncated mid-field", Arrays.copyOf(utf8(XE), 90), Reason.NOT_NUL_TERMINATED),
                arguments("0xff in a value", splice(XE.replace("WEDGED=rebind", "WEDGED=rebin#"), 0xff), Reason.NOT_UTF8),
                arguments("cut multi-byte sequence", splice(XE.replace("TYPE=drm_minor", "TYPE=#"), 0xc3), Reason.NOT_UTF8),
                arguments("overlong '/' (c0 af)", overlongSlash(), Reason.NOT_UTF8),
                arguments("UTF-16 surrogate (ed a0 80)", surrogate(), Reason.NOT_UTF8),
                arguments("field without '='", utf8(XE.replace("MAJOR=226", "MAJOR226")), Reason.MALFORMED_FIELD),
                arguments("empty field (two NULs)", utf8(XE.replace("\0MAJOR=", "\0\0MAJOR=")), Reason.MALFORMED_FIELD),
                arguments("empty key", utf8(XE.replace("MAJOR=226", "=226")), Reason.MALFORMED_FIELD),
                arguments("space in key", utf8(XE.replace("MAJOR=226", "MA JOR=226")), Reason.MALFORMED_FIELD),
                arguments("duplicate WEDGED", utf8(XE.replace("MAJOR=226", "WEDGED=none")), Reason.DUPLICATE_KEY),
                arguments("duplicate ACTION", utf8(XE.replace("MAJOR=226", "ACTION=change")), Reason.DUPLICATE_KEY),
                arguments("header only", utf8("change@/devices/x\0"), Reason.MISSING_KEY),
                arguments("no ACTION", utf8(XE.replace("ACTION=change\0", "")), Reason.MISSING_KEY),
                arguments("no DEVPATH", utf8(XE.replace("DEVPATH=/devices/pci0000:00/0000:03:00.0/drm/card0\0", "")), Reason.MISSING_KEY),
                arguments("ACTION differs from header", utf8(XE.replace("ACTION=change", "ACTION=add")), Reason.HEADER_MISMATCH),
                arguments("DEVPATH differs from header", utf8(XE.replace("DEVPATH=/devices/pci0000:00/0000:03:00.0/drm/card0", "DEVPATH=/devices/pci0000:00/0000:04:00.0/drm/card0")), Reason.HEADER_MISMATCH),
                arguments("SEQNUM letters", utf8(XE.replace("SEQNUM=5208", "SEQNUM=52O8")), Reason.BAD_SEQNUM),
                arguments("SEQNUM empty", utf8(XE.replace("SEQNUM=5208", "SEQNUM=")), Reason.BAD_SEQNUM),
                arguments("SEQNUM negative", utf8(XE.replace("SEQNUM=5208", "SEQNUM=-1")), Reason.BAD_SEQNUM),
                arguments("SEQNUM with sign", utf8(XE.replace("SEQNUM=5208", "SEQNUM=+5208")), Reason.BAD_SEQNUM),
                arguments("SEQNUM 2^64", utf8(XE.replace("SEQNUM=5208", "SEQNUM=18446744073709551616")), Reason.BAD_SEQNUM),
                arguments("SEQNUM non-ASCII digits", utf8(XE.replace("SEQNUM=5208", "SEQNUM=５２０８")), Reason.BAD_SEQNUM));
    }

    @ParameterizedTest(name = "{0} → {2}")
    @MethodSource("rejections")
    void rejects(String what, byte[] payload, Reason reason) {
        var d = UeventCodec.decode(payload);

        assertThat(d).isInstanceOfSatisfying(Rejected.class, r -> {
            assertThat(r.reason()).isEqualTo(reason);
            assertThat(r.detail()).isNotBlank();
        });
    }

    @Test
    void aTaskNameThatIsNotUtf8CostsOnlyItsBadBytesNotTheWedge() {
        // comm "aゲームエンジン" cut at 15 bytes by the kernel: 'a', four 3-byte characters, then two bytes of the fifth
        byte[] comm = Arrays.copyOf("aゲームエンジン".getBytes(java.nio.charset.StandardCharsets.UTF_8), 15);
        var out = new ByteArrayOutputStream();
        out.writeBytes(utf8(XE.substring(0, XE.indexOf("SEQNUM=")) + "PID=2112\0TASK="));
        out.writeBytes(comm);
        out.writeBytes(utf8("\0SEQNUM=5208\0"));
        var d = UeventCodec.decode(out.toByteArray());

        assertThat(d).isInstanceOfSatisfying(Uevent.class, u -> {
            assertThat(u.get("TASK")).isEqualTo("aゲームエ\uFFFD");
            assertThat(WedgedEvent.recognise(u)).isInstanceOfSatisfying(WedgedEvent.Wedged.class,
                    w -> assertThat(w.event().task()).hasValueSatisfying(t -> assertThat(t.pid()).isEqualTo(2112)));
        });
    }

    @Test
    void badBytesAnywhereElseStillRejectIt() {
        for (var key : List.of("DEVNAME=dri/card#", "WEDGED=rebind#", "SUBSYSTEM=drm#")) {
            String field = key.substring(0, key.indexOf('#'));
            var payload = splice(XE.replace(field, key).replace("SEQNUM=5208", "PID=1\0TASK=ok") + "SEQNUM=5208\0", 0xc3);
            assertThat(UeventCodec.decode(payload)).as(key).isInstanceOfSatisfying(Rejected.class,
                    r -> assertThat(r.reason()).isEqualTo(Reason.NOT_UTF8));
        }
    }

    @Test
    void theRejectionTableCoversEveryReason() {
        var covered = EnumSet.noneOf(Reason.class);
        rejections().forEach(a -> covered.add((Reason) a.get()[2]));
        assertThat(covered).isEqualTo(EnumSet.allOf(Reason.class));
    }

    @Test
    void rejectsUdevsLibudevRebroadcast() {
        // what udevd sends to netlink group 2: a binary header, then the same properties without a header line
        var props = utf8("ACTION=change\0DEVPATH=/devices/pci0000:00/0000:03:00.0/drm/card0\0SUBSYSTEM=drm\0"
                + "WEDGED=rebind,bus-reset\0SEQNUM=5208\0");
        var header = ByteBuffer.allocate(40).order(ByteOrder.nativeOrder());
        header.put(utf8("libudev\0"));
        header.order(ByteOrder.BIG_ENDIAN).putInt(0xfeedcafe).order(ByteOrder.nativeOrder());
        header.putInt(40).putInt(40).putInt(props.length).putInt(0x1234).putInt(0).putInt(0).putInt(0);
        var msg = new ByteArrayOutputStream();
        msg.writeBytes(header.array());
        msg.writeBytes(props);

        assertThat(UeventCodec.decode(msg.toByteArray()))
                .isInstanceOfSatisfying(Rejected.class, r -> assertThat(r.reason()).isEqualTo(Reason.NO_HEADER));
    }

    @Test
    void acceptsExactlyMaxSize() {
        var payload = padTo(UeventCodec.MAX_SIZE);
        assertThat(UeventCodec.decode(payload)).isInstanceOf(Uevent.class);
        assertThat(UeventCodec.encode((Uevent) UeventCodec.decode(payload))).isEqualTo(payload);
    }

    @Test
    void aValueKeepsEveryEqualsSignAfterTheFirst() {
        var u = (Uevent) UeventCodec.decode(utf8(XE.replace("MAJOR=226", "MODALIAS=a=b==c")));
        assertThat(u.get("MODALIAS")).isEqualTo("a=b==c");
    }

    @Test
    void acceptsEmptyAndNonAsciiValues() {
        var u = (Uevent) UeventCodec.decode(utf8(XE.replace("MAJOR=226", "EMPTY=\0NAME=Grafikkarte ä 显卡 🎮")));
        assertThat(u.get("EMPTY")).isEmpty();
        assertThat(u.get("NAME")).isEqualTo("Grafikkarte ä 显卡 🎮");
    }

    @Test
    void readsTheLargestSeqnumAsUnsigned() {
        var u = (Uevent) UeventCodec.decode(utf8(XE.replace("SEQNUM=5208", "SEQNUM=18446744073709551615")));
        assertThat(Long.toUnsignedString(u.seqnum().orElseThrow())).isEqualTo("18446744073709551615");
    }

    @Test
    void anEventWithoutSeqnumIsAcceptedWithNone() {
        // what an injector hands the kernel, before the kernel appends SEQNUM
        var u = (Uevent) UeventCodec.decode(utf8(XE.replace("SEQNUM=5208\0", "")));
        assertThat(u.seqnum()).isEmpty();
    }

    @Test
    void encodeLaysOutTheKernelsFormat() {
        var u = Uevent.of("change", "/devices/x/drm/card0", new LinkedHashMap<>(Map.of("SUBSYSTEM", "drm"))).withSeqnum(7);
        assertThat(UeventCodec.encode(u))
                .isEqualTo(utf8("change@/devices/x/drm/card0\0ACTION=change\0DEVPATH=/devices/x/drm/card0\0SUBSYSTEM=drm\0SEQNUM=7\0"));
    }

    @Test
    void withSeqnumMovesSeqnumLast() {
        var u = Vectors.decoded("xe-rebind-bus-reset").withSeqnum(9);
        assertThat(u.fields().lastEntry()).isEqualTo(Map.entry("SEQNUM", "9"));
        assertThat(u.fields()).hasSameSizeAs(Vectors.decoded("xe-rebind-bus-reset").fields());
    }

    /** A Uevent the codec could not carry is refused when it is built, so encode's promise holds for all. */
    static Stream<Arguments> unencodable() {
        return Stream.of(
                arguments("upper-case action", "Change", Map.of()),
                arguments("action with a space", "ch ange", Map.of()),
                arguments("action with '@'", "a@b", Map.of()),
                arguments("SEQNUM not a number", "change", Map.of("SEQNUM", "x")),
                arguments("negative SEQNUM", "change", Map.of("SEQNUM", "-1")),
                arguments("key with '='", "change", Map.of("A=B", "c")),
                arguments("NUL in a value", "change", Map.of("A", "b\0c")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unencodable")
    void refusesAnEventTheWireCannotCarry(String what, String action, Map<String, String> rest) {
        assertThatIllegalArgumentException().isThrownBy(() -> Uevent.of(action, "/devices/x", rest));
    }

    @Test
    void refusesActionAndDevpathFieldsThatDisagreeWithTheHeader() {
        var f = new LinkedHashMap<String, String>();
        f.put("ACTION", "add");
        f.put("DEVPATH", "/devices/x");
        assertThatIllegalArgumentException().isThrownBy(() -> new Uevent("change", "/devices/x", f));
        assertThatIllegalArgumentException().isThrownBy(() -> Uevent.of("change", "/devices/x", Map.of("ACTION", "change")));
    }

    private static byte[] padTo(int size) {
        String base = "change@/devices/x\0ACTION=change\0DEVPATH=/devices/x\0PAD=";
        var sb = new StringBuilder(base);
        while (sb.length() < size - 1) sb.append('p');
        sb.append('\0');
        var b = utf8(sb.toString());
        assertThat(b).hasSize(size);
        return b;
    }

    /** {@code text} as UTF-8 with each '#' replaced by {@code raw} bytes. */
    private static byte[] splice(String text, int... raw) {
        var out = new ByteArrayOutputStream();
        for (byte x : utf8(text)) {
            if (x == '#') for (int r : raw) out.write(r);
            else out.write(x);
        }
        return out.toByteArray();
    }

    private static byte[] overlongSlash() {
        return splice(XE.replace("DEVNAME=dri/card0", "DEVNAME=dri#card0"), 0xc0, 0xaf);
    }

    private static byte[] surrogate() {
        return splice(XE.replace("DEVTYPE=drm_minor", "DEVTYPE=#"), 0xed, 0xa0, 0x80);
    }
}
