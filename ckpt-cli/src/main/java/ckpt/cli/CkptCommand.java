package ckpt.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ckpt} top-level command: dispatches to one subcommand per job. */
@Command(name = "ckpt",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Inspect, verify, convert and prune ML training checkpoints (Megatron torch_dist and legacy torch, PyTorch DCP, torch.save, safetensors).",
        subcommands = {CommandLine.HelpCommand.class, InspectCommand.class, VerifyCommand.class, ConvertCommand.class, ReshardCommand.class,
                ListCommand.class, RotateCommand.class, DiffCommand.class, MemoryCommand.class, CompletionCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:success (verify: the checkpoint is sound; rotate: done, also when nothing had to go)",
                "1:the job found problems (verify: problems listed; rotate: some removal failed; diff: the checkpoints differ) or failed on bad input",
                "2:usage error (unknown option, missing argument)",
                "3:internal error (a bug: please report it with the stack trace that CKPT_DEBUG=1 prints)"})
public final class CkptCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Bare {@code ckpt}, like bare {@code kubectl} or {@code hf}: the help, on stdout. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new CkptCommand());
        cl.setExecutionExceptionHandler(new ErrorHandler());
        cl.setParameterExceptionHandler(new UsageErrors());
        HelpLayout.install(cl);
        return cl;
    }

    public static void main(String[] args) {
        int code;
        try {
            code = commandLine().execute(args);
        } catch (VirtualMachineError e) {
            // picocli hands only Exceptions to ErrorHandler: an Error (out of memory, stack overflow on a hostile
            // input that no reader bounded) would end in the JVM's stack trace; it is a bug, said in one line
            System.err.println("ckpt: " + ErrorHandler.virtualMachineError(e));
            if ("1".equals(System.getenv("CKPT_DEBUG"))) e.printStackTrace();
            code = ExitCodes.INTERNAL;
        }
        System.exit(code);
    }
}
