package ckpt.cli;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code ckpt completion bash|zsh}: prints the shell completion script picocli generates from the command model. */
@Command(name = "completion",
        mixinStandardHelpOptions = true,
        description = {"Print a shell completion script for ckpt's commands and options.",
                "bash: source <(ckpt completion bash), or save it as ~/.local/share/bash-completion/completions/ckpt.",
                "zsh: source <(ckpt completion zsh) in ~/.zshrc (it runs through zsh's bashcompinit)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:printed", "2:usage error (an unknown shell)"})
final class CompletionCommand implements Callable<Integer> {
    enum Shell { bash, zsh }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SHELL", description = "bash or zsh")
    Shell shell;

    @Override
    public Integer call() {
        CommandLine root = spec.root().commandLine();
        String script = AutoComplete.bash(root.getCommandName(), root);
        if (shell == Shell.zsh) {
            // picocli's script serves both shells: under zsh it loads bashcompinit itself.
            script = "# ckpt completion for zsh: add  source <(ckpt completion zsh)  to ~/.zshrc\n" + script;
        }
        spec.commandLine().getOut().print(script);
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
