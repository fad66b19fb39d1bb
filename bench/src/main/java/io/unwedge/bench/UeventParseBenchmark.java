package io.unwedge.bench;

import io.unwedge.core.Decoded;
import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.core.WedgedEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * How many netlink payloads per second the pure core turns into events: {@code decode} alone, and
 * {@code decode} followed by wedge recognition (what the daemon does for every uevent it hears).
 * One operation is one event; the shared vectors ({@code shared/vectors/uevents/*.uevent}: xe, amdgpu, an
 * iGPU hotplug, a PCI unbind) are taken in turn, so the figure is a mix of wedges and ordinary events.
 * The vectors are found through {@code -Dunwedge.shared=}, {@code UNWEDGE_SHARED}, or {@code ../shared}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class UeventParseBenchmark {

    private byte[][] payloads;
    private int next;

    @Setup
    public void load() throws IOException {
        var dir = sharedDir().resolve("vectors/uevents");
        var loaded = new ArrayList<byte[]>();
        try (Stream<Path> files = Files.list(dir)) {
            for (var f : files.filter(p -> p.toString().endsWith(".uevent")).sorted().toList()) {
                var bytes = Files.readAllBytes(f);
                if (!(UeventCodec.decode(bytes) instanceof Uevent)) throw new IllegalStateException(f + " does not decode");
                loaded.add(bytes);
            }
        }
        if (loaded.isEmpty()) throw new IllegalStateException("no *.uevent in " + dir.toAbsolutePath());
        payloads = loaded.toArray(byte[][]::new);
    }

    private byte[] nextPayload() {
        var p = payloads[next];
        next = next + 1 == payloads.length ? 0 : next + 1;
        return p;
    }

    @Benchmark
    public Decoded decode() {
        return UeventCodec.decode(nextPayload());
    }

    @Benchmark
    public Object decodeAndRecognise() {
        var d = UeventCodec.decode(nextPayload());
        return d instanceof Uevent u ? WedgedEvent.recognise(u) : d;
    }

    static Path sharedDir() {
        for (var candidate : List.of(String.valueOf(System.getProperty("unwedge.shared")),
                String.valueOf(System.getenv("UNWEDGE_SHARED")), "../shared", "../../shared")) {
            var p = Path.of(candidate);
            if (!candidate.equals("null") && Files.isDirectory(p.resolve("vectors/uevents"))) return p;
        }
        throw new IllegalStateException("shared dir not found: pass -Dunwedge.shared=<dir> or set UNWEDGE_SHARED");
    }
}
