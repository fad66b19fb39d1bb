package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsReport;
import net.jqwik.api.statistics.StatisticsReport.StatisticsReportMode;

/**
 * The codec's laws, on generated input with fixed seeds: encode/decode are inverse on every event the wire can
 * carry; decode is total on any bytes (vectors mutated byte by byte, token soup, noise); and whatever decode
 * accepts re-encodes to exactly the bytes it came from, so no two payloads share one decoded event.
 */
class UeventCodecProperties {

    private static final Set<String> HEADER_KEYS = Set.of(Uevent.ACTION, Uevent.DEVPATH, Uevent.SEQNUM);

    // (a) --------------------------------------------------------------------------------------------------

    // edge cases off: their combinations outnumber the tries (jqwik says so at INFO); sizes start at 0 anyway
    @Property(tries = 1000, seed = "5208", edgeCases = EdgeCasesMode.NONE)
    void encodeThenDecodeGivesTheEventBack(@ForAll("uevents") Uevent u) {
        byte[] bytes = UeventCodec.encode(u);
        assertThat(bytes.length).as("generator stays within the wire limit").isLessThanOrEqualTo(UeventCodec.MAX_SIZE);

        var d = UeventCodec.decode(bytes);

        assertThat(d).isEqualTo(u);
        // record equality of the field map ignores order; the wire order is part of the event
        assertThat(List.copyOf(((Uevent) d).fields().entrySet())).isEqualTo(List.copyOf(u.fields().entrySet()));
    }

    // (b) --------------------------------------------------------------------------------------------------

    @Property(tries = 1000, seed = "6021")
    @StatisticsReport(StatisticsReportMode.OFF)
    void decodeIsTotal(@ForAll("payloads") byte[] payload) {
        byte[] before = payload.clone();

        Decoded d = UeventCodec.decode(payload);

        assertThat(d).isNotNull().isInstanceOfAny(Uevent.class, Rejected.class);
        assertThat(payload).as("decode leaves its input alone").isEqualTo(before);
        if (d instanceof Uevent u) {
            // what the codec accepts, recognition must take without throwing either
            assertThat(WedgedEvent.recognise(u)).isNotNull();
        }
        Statistics.label("outcome").collect(d instanceof Rejected r ? r.reason().name() : "accepted")
                .coverage(c -> {
                    c.check("accepted").percentage(p -> p > 3);
                    c.check(Rejected.Reason.NOT_NUL_TERMINATED.name()).count(n -> n > 0);
                    c.check(Rejected.Reason.MALFORMED_FIELD.name()).count(n -> n > 0);
                    c.check(Rejected.Reason.NOT_UTF8.name()).count(n -> n > 0);
                });
    }

    // (c) --------------------------------------------------------------------------------------------------

    @Property(tries = 1000, seed = "7310")
    @StatisticsReport(StatisticsReportMode.OFF)
    void whatDecodeAcceptsReEncodesToTheSameBytes(@ForAll("nearlyUevents") byte[] payload) {
        var d = UeventCodec.decode(payload);

        // but a TASK whose bad bytes became U+FFFD (the one value allowed them)
        if (d instanceof Uevent u && !String.valueOf(u.get("TASK")).contains("\uFFFD")) assertThat(UeventCodec.encode(u)).isEqualTo(payload);
        Statistics.label("accepted").collect(d instanceof Uevent)
                .coverage(c -> c.check(true).percentage(p -> p > 25));
    }

    // generators --------------------------------------------------------------------------------------------

    /** Code points of every width UTF-8 has (1 to 4 bytes), control characters included, never NUL or a surrogate. */
    static Arbitrary<Integer> codePoints() {
        return Arbitraries.frequencyOf(
                Tuple.of(50, Arbitraries.integers().between(0x20, 0x7e)),
                Tuple.of(5, Arbitraries.integers().between(0x01, 0x1f)),
                Tuple.of(1, Arbitraries.just(0x7f)),
                Tuple.of(10, Arbitraries.integers().between(0x80, 0x7ff)),
                Tuple.of(10, Arbitraries.integers().between(0x800, 0xffff)
                        .filter(c -> c < Character.MIN_SURROGATE || c > Character.MAX_SURROGATE)),
                Tuple.of(10, Arbitraries.integers().between(0x10000, Character.MAX_CODE_POINT)));
    }

    static Arbitrary<String> text(int min, int max, int... excluded) {
        return codePoints().filter(c -> Arrays.stream(excluded).noneMatch(x -> x == c))
                .list().ofMinSize(min).ofMaxSize(max)
                .map(cps -> cps.stream().collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString());
    }

    @Provide
    Arbitrary<Uevent> uevents() {
        var actions = Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(12);
        var devpaths = text(1, 16, '/').list().ofMinSize(1).ofMaxSize(8).map(cs -> "/devices/" + String.join("/", cs));
        var keys = Arbitraries.strings().withChars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_").ofMinLength(1).ofMaxLength(16)
                .filter(k -> !HEADER_KEYS.contains(k));
        var fields = Combinators.combine(keys, text(0, 48)).as(Map::entry)
                .list().uniqueElements(Map.Entry::getKey).ofMaxSize(16);
        var seqnums = Arbitraries.longs().optional(0.8);
        return Combinators.combine(actions, devpaths, fields, seqnums).as((a, d, f, s) -> {
            var rest = new LinkedHashMap<String, String>();
            f.forEach(e -> rest.put(e.getKey(), e.getValue()));
            var u = Uevent.of(a, d, rest);
            return s.map(u::withSeqnum).orElse(u);
        });
    }

    /** Bytes that are mostly almost uevents: the vectors mutated, token soup, and plain noise. */
    @Provide
    Arbitrary<byte[]> payloads() {
        return Arbitraries.frequencyOf(
                Tuple.of(45, mutatedVectors()),
                Tuple.of(35, tokenSoup(true)),
                Tuple.of(15, Arbitraries.bytes().array(byte[].class).ofMaxSize(300)),
                Tuple.of(5, Arbitraries.bytes().array(byte[].class).ofMinSize(UeventCodec.MAX_SIZE - 2).ofMaxSize(UeventCodec.MAX_SIZE + 2)));
    }

    /** Like {@link #payloads()}, but half are well-formed fields behind a valid header: the accepted side. */
    @Provide
    Arbitrary<byte[]> nearlyUevents() {
        return Arbitraries.frequencyOf(Tuple.of(1, payloads()), Tuple.of(1, tokenSoup(false)));
    }

    enum Edit { FLIP, SET, TRUNCATE, INSERT_NUL, DELETE, INSERT }

    record Mutation(Edit edit, int at, byte value) {
        byte[] apply(byte[] b) {
            int i = b.length == 0 ? 0 : Math.floorMod(at, b.length);
            var out = new ByteArrayOutputStream(b.length + 1);
            switch (edit) {
                case FLIP -> {
                    var c = b.clone();
                    if (c.length > 0) c[i] ^= (byte) (value == 0 ? 1 : value);
                    return c;
                }
                case SET -> {
                    var c = b.clone();
                    if (c.length > 0) c[i] = value;
                    return c;
                }
                case TRUNCATE -> {
                    return Arrays.copyOf(b, i);
                }
                case INSERT_NUL, INSERT -> {
                    out.write(b, 0, i);
                    out.write(edit == Edit.INSERT_NUL ? 0 : value);
                    out.write(b, i, b.length - i);
                    return out.toByteArray();
                }
                case DELETE -> {
                    if (b.length == 0) return b;
                    out.write(b, 0, i);
                    out.write(b, i + 1, b.length - i - 1);
                    return out.toByteArray();
                }
            }
            throw new AssertionError(edit);
        }
    }

    static Arbitrary<byte[]> mutatedVectors() {
        var value = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.bytes().between((byte) 0x20, (byte) 0x7e)),
                Tuple.of(4, Arbitraries.bytes()));
        var mutation = Combinators.combine(Arbitraries.of(Edit.class), Arbitraries.integers().greaterOrEqual(0), value)
                .as(Mutation::new);
        return Combinators.combine(Arbitraries.of(Vectors.allBytes()), mutation.list().ofMinSize(1).ofMaxSize(4)
                        .withSizeDistribution(RandomDistribution.biased()))
                .as((bytes, ms) -> {
                    byte[] b = bytes;
                    for (var m : ms) b = m.apply(b);
                    return b;
                });
    }

    /** Fields built from the words a uevent is made of, often behind a valid header, sometimes NUL-terminated. */
    static Arbitrary<byte[]> tokenSoup(boolean wild) {
        var words = Arbitraries.of("change", "add", "@", "/", "@/", "/devices/", "=", "\0", "ACTION", "DEVPATH",
                "SEQNUM", "WEDGED", "SUBSYSTEM", "drm", "card0", "rebind", ",", "0", "5208", "-", "ä", "🎮", "\n", " ");
        var soup = words.list().ofMaxSize(6).map(ws -> String.join("", ws));
        var keyed = Combinators.combine(Arbitraries.strings().withChars("ABCDEFGHIJKLMNOPQRSTUVWXYZ_").ofMinLength(1).ofMaxLength(8),
                soup.filter(v -> v.indexOf('\0') < 0)).as((k, v) -> k + "=" + v);
        var field = wild ? Arbitraries.frequencyOf(Tuple.of(1, soup), Tuple.of(4, keyed)) : keyed;
        var header = !wild ? Arbitraries.just("change@/devices/x\0ACTION=change\0DEVPATH=/devices/x\0") : Arbitraries.of(
                "change@/devices/x\0ACTION=change\0DEVPATH=/devices/x\0",
                "change@/devices/x\0",
                "add@/devices/a/b\0DEVPATH=/devices/a/b\0ACTION=add\0",
                "");
        var terminated = Arbitraries.frequencyOf(Tuple.of(9, Arbitraries.just(true)), Tuple.of(wild ? 1 : 0, Arbitraries.just(false)));
        return Combinators.combine(header, field.list().ofMaxSize(5), terminated).as((h, fs, nul) -> {
            var sb = new StringBuilder(h);
            for (var f : fs) sb.append(f).append('\0');
            if (!nul && !sb.isEmpty()) sb.setLength(sb.length() - 1);
            return sb.toString().getBytes(StandardCharsets.UTF_8);
        });
    }
}
