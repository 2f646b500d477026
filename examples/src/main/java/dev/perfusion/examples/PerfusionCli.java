package dev.perfusion.examples;

import dev.perfusion.examples.demo.DemoCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code perfusion} command line. Each subcommand is one file. */
@Command(name = "perfusion", mixinStandardHelpOptions = true, version = "perfusion 0.1.0-SNAPSHOT",
        description = "Perfusion (key-locked rank-one editing) for Stable Diffusion v1.x on the JVM.",
        subcommands = {DemoCommand.class, GenerateCommand.class, ComponentsCommand.class, CovarianceCommand.class, SampleCommand.class, SweepCommand.class, InspectCommand.class, CommandLine.HelpCommand.class})
public final class PerfusionCli {
    public static void main(String[] args) {
        System.exit(new CommandLine(new PerfusionCli()).execute(args));
    }
}
