package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** `unwedge NAME …` builds NAME's picocli model alone: the same command, options and errors as in the whole tree. */
class OneCommandTest {

    @Test
    void everyCommandButHelpIsBuiltAloneWithTheOptionsItHasInTheTree() {
        var tree = Main.commandLine().getSubcommands();
        assertThat(tree).containsKeys("daemon", "users", "status", "sim", "config", "handle-uevent", "help");
        for (var e : tree.entrySet()) {
            var alone = Main.command(e.getKey());
            if (e.getKey().equals("help")) {
                assertThat(alone).as("help names other commands: it needs the tree").isEmpty();
                continue;
            }
            assertThat(alone).as(e.getKey()).isPresent();
            CommandSpec one = alone.get().getCommandSpec(), nested = e.getValue().getCommandSpec();
            assertThat(one.qualifiedName()).isEqualTo(nested.qualifiedName()).isEqualTo("unwedge " + e.getKey());
            assertThat(names(one)).as(e.getKey() + "'s options").isEqualTo(names(nested));
            assertThat(one.subcommands().keySet()).as(e.getKey() + "'s commands").isEqualTo(nested.subcommands().keySet());
        }
        assertThat(Main.command("no-such-command")).isEmpty();
        assertThat(Main.command("--version")).isEmpty();
    }

    @Test
    void aCommandAloneFailsAsItDoesInTheTree() {
        for (var cl : List.of(Main.command("users").orElseThrow(), Main.commandLine())) {
            var err = new StringWriter();
            cl.setErr(new PrintWriter(err));
            String[] args = cl.getCommandName().equals("unwedge") ? new String[] {"users", "--no-such-option"} : new String[] {"--no-such-option"};
            assertThat(cl.execute(args)).isEqualTo(ExitCode.USAGE.code);
            assertThat(err.toString()).contains("unwedge: Unknown option: '--no-such-option'", "Try `unwedge users --help`.");
        }
    }

    private static List<String> names(CommandSpec spec) {
        return spec.options().stream().map(OptionSpec::longestName).sorted().toList();
    }
}
