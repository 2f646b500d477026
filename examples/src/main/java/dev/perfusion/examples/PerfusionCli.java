package dev.perfusion.examples;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code perfusion} command line. Each subcommand is one file. */
@Command(name = "perfusion", mixinStandardHelpOptions = true, version = "perfusion 0.1.0-SNAPSHOT",
        description = "Perfusion (key-locked rank-one editing) for Stable Diffusion v1.x on the JVM.",
        subcommands = {DemoCommand.class, GenerateCommand.class, ComponentsCommand.class, CovarianceCommand.class,
            TrainCommand.class, SampleCommand.class, SweepCommand.class, InspectCommand.class, ToyBaseCommand.class,
            ToyGateCommand.class, EvalCommand.class,
            CommandLine.HelpCommand.class})
public final class PerfusionCli {
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line with its error handling: a failure prints one line naming the problem and exits with 1;
     * {@code PERFUSION_DEBUG=1} prints the stack trace too.
     */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new PerfusionCli());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (System.getenv("PERFUSION_DEBUG") != null) {
                e.printStackTrace();
            }
            String message = e.getMessage() != null ? e.getMessage() : e.toString();
            cmd.getErr().println("perfusion " + cmd.getCommandName() + ": error: " + message);
            return 1;
        });
        return cl;
    }
}
