package io.unwedge.cli;

/** The one place exit codes are defined; {@code --help} lists them. */
public enum ExitCode {
    OK(0, "success"),
    FAILED(1, "a recovery failed, the device is not free, or the journal cannot be read"),
    USAGE(2, "bad command line or config file"),
    NO_DEVICE(3, "no such device"),
    PERMISSION(4, "permission denied (most commands that act need root)"),
    REFUSED(5, "refused by policy or by a safety check"),
    INTERNAL(70, "internal error: a bug, please report it");

    public final int code;
    public final String meaning;

    ExitCode(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    static String[] helpLines() {
        var values = values();
        var lines = new String[values.length + 1];
        lines[0] = "%nExit codes:";
        for (int i = 0; i < values.length; i++) {
            // not String.format("%3d"): a number format loads the locale data, and every command (the daemon too) builds this
            String code = Integer.toString(values[i].code);
            lines[i + 1] = "  " + " ".repeat(Math.max(0, 3 - code.length())) + code + "  " + values[i].meaning;
        }
        return lines;
    }
}
