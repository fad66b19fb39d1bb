package io.unwedge.daemon.config;

import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * A config file that cannot be used, with every problem found in it (not only the first), in line order.
 * Its message is one {@code FILE:LINE: message} line per problem, as compilers write them.
 */
public final class ConfigException extends Exception {

    /**
     * One thing wrong.
     *
     * @param line 1-based; 0 when the problem is the file as a whole
     */
    public record Problem(int line, String message) {
        public Problem {
            if (line < 0) throw new IllegalArgumentException("negative line " + line);
            Objects.requireNonNull(message);
        }

        /** {@code FILE:LINE: message}, or {@code FILE: message} for the whole file. */
        public String format(String source) {
            return line == 0 ? source + ": " + message : source + ":" + line + ": " + message;
        }
    }

    private final String source;
    private final List<Problem> problems;

    public ConfigException(String source, List<Problem> problems) {
        super(describe(source, problems));
        this.source = source;
        this.problems = List.copyOf(problems);
    }

    private static String describe(String source, List<Problem> problems) {
        if (problems.isEmpty()) throw new IllegalArgumentException("a ConfigException needs at least one problem");
        return String.join("\n", problems.stream().map(p -> p.format(source)).toList());
    }

    /** The file, as given. */
    public String source() {
        return source;
    }

    /** Sorted by line; problems of one line in the order they were found. */
    public List<Problem> problems() {
        return problems;
    }

    static List<Problem> sorted(List<Problem> problems) {
        return problems.stream().sorted(Comparator.comparingInt(Problem::line)).toList();
    }
}
