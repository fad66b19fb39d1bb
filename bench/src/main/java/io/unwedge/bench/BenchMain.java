package io.unwedge.bench;

/**
 * The bench jar's entry point: JMH's own command line ({@code java -jar unwedge-bench.jar UeventParse -f 1 ...};
 * {@code -h} lists the options). The libraries are found through the manifest's {@code lib/} class path.
 */
public final class BenchMain {

    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        org.openjdk.jmh.Main.main(args);
    }
}
