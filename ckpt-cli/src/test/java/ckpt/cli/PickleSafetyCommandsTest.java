package ckpt.cli;

import ckpt.format.testing.Fixtures;
import ckpt.format.testing.IndependentZip;
import ckpt.format.zip.TorchZipWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue #12 item 3: a torch.save file whose pickle calls {@code os.system(...)} (or Popen, eval, exec, through
 * REDUCE, INST, OBJ or NEWOBJ) beside a real tensor is not "sound": {@code verify} exits 1 naming the global,
 * {@code inspect} warns before anything else. Built at test time from the real {@code zip_single_tensor.pt}: its
 * tensor pickle and storage are kept, and the hostile call is added as a second dict entry.
 */
class PickleSafetyCommandsTest {
    @TempDir
    Path tmp;

    private static final Path REAL = Fixtures.path("torch-save/files/zip_single_tensor.pt");

    /** Pickle text (protocol 2) that leaves one value on the stack: a call of {@code global} with one string. */
    record Call(String name, String global, byte[] pickle) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Call> calls() {
        return Stream.of(
                new Call("REDUCE os.system", "os.system", cat(global("os", "system"), str("echo pwned"), op(0x85, 'R'))),
                new Call("REDUCE subprocess.Popen", "subprocess.Popen", cat(global("subprocess", "Popen"), str("id"), op(0x85, 'R'))),
                new Call("REDUCE builtins.eval", "builtins.eval", cat(global("builtins", "eval"), str("1+1"), op(0x85, 'R'))),
                // protocol 2 maps the Python 2 name: __builtin__.exec is builtins.exec
                new Call("REDUCE __builtin__.exec", "builtins.exec", cat(global("__builtin__", "exec"), str("pass"), op(0x85, 'R'))),
                new Call("INST os.system", "os.system", cat(op('('), str("echo pwned"), ascii("ios\nsystem\n"))),
                new Call("OBJ posix.system", "posix.system", cat(op('('), global("posix", "system"), str("echo pwned"), op('o'))),
                new Call("NEWOBJ subprocess.Popen", "subprocess.Popen", cat(global("subprocess", "Popen"), str("id"), op(0x85, 0x81))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("calls")
    void verifyFailsNamingTheGlobalAndInspectWarnsFirst(Call call) throws Exception {
        Path pt = withEntry(call.pickle());
        var v = ckpt("verify", "--deep", pt);
        assertThat(v.code()).as(v.out() + v.err()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(v.out()).contains("global " + call.global()).contains("torch.load(weights_only=True)")
                .doesNotContain("\nsound");

        var i = ckpt("inspect", pt);
        assertThat(i.code()).as(i.err()).isZero();
        assertThat(i.out().lines().findFirst().orElse("")).startsWith("WARNING: " + pt).contains(call.global());
        // the real tensor next to it is still shown
        assertThat(i.out()).contains("weight");
    }

    /** 100 distinct unsafe globals: inspect --json warns in one stderr line, the text report in a screenful plus a count. */
    @Test
    void manyUnsafeGlobalsAreCountedNotListed() throws Exception {
        byte[][] parts = new byte[101][];
        parts[0] = op(']');
        for (int i = 0; i < 100; i++) parts[i + 1] = cat(global("mod" + i, "f"), op(')', 'R', 'a'));
        Path pt = withEntry(cat(parts));
        var j = ckpt("inspect", "--json", pt);
        assertThat(j.code()).as(j.err()).isZero();
        assertThat(j.err().lines().toList()).as(j.err()).hasSize(1);
        assertThat(j.err()).startsWith("WARNING: " + pt).contains("global mod0.f").contains("(and 99 more unsafe globals: ckpt verify lists each)");
        var t = ckpt("inspect", pt);
        List<String> warnings = t.out().lines().filter(l -> l.startsWith("WARNING: ")).toList();
        assertThat(warnings).hasSize(InspectCommand.MAX_WARNINGS + 1);
        assertThat(warnings.getLast()).isEqualTo("WARNING: and 80 more unsafe globals: ckpt verify lists each");
        var v = ckpt("verify", pt);
        assertThat(v.out().lines().filter(l -> l.contains("pickle references global mod")).count()).isEqualTo(100);
    }

    @Test
    void theRealFileItIsBuiltFromIsSound() throws Exception {
        Path pt = withEntry(str("just text"));
        var v = ckpt("verify", "--deep", pt);
        assertThat(v.code()).as(v.out()).isZero();
        assertThat(ckpt("inspect", pt).out()).doesNotContain("WARNING");
    }

    @Test
    void aModuleNameThatIsNotUtf8IsRefusedAsPythonsUnpicklerDoes() throws Exception {
        // STACK_GLOBAL with a module string of invalid UTF-8 (protocol 4 strings), as hostile files carry it
        byte[] badModule = cat(op(0x8c, 2), new byte[]{(byte) 0xC3, (byte) 0x28}, op(0x8c, 6), ascii("system"), op(0x93),
                str("x"), op(0x85, 'R'));
        Path pt = withEntry(badModule);
        for (String cmd : List.of("verify", "inspect")) {
            var r = cmd.equals("verify") ? ckpt("verify", "--deep", pt) : ckpt("inspect", pt);
            assertThat(r.code()).as(r.out() + r.err()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(r.out() + r.err()).contains(pt.toString()).contains("not valid UTF-8").doesNotContain("Exception");
        }
        // INST's names are read as Python reads them, as ASCII: a byte above 0x7F fails too
        Path inst = withEntry(cat(op('('), str("x"), op('i'), new byte[]{'o', (byte) 0xFF, '\n'}, ascii("system\n")));
        var r = ckpt("verify", inst);
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out() + r.err()).contains(inst.toString());
    }

    @Test
    void metadataJsonWithUnknownKeysOrImpossibleValuesIsAFormatError() throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2-core014/checkpoint"), tmp.resolve("save"));
        Path md = save.resolve("iter_0000004/metadata.json");
        String good = Files.readString(md);
        List<String> bad = List.of(
                good.replace("}", ", \"exec\": \"os.system('rm -rf /')\"}"),
                good.replace("\"sharded_backend_version\": 1", "\"sharded_backend_version\": 0"),
                good.replace("\"sharded_backend_version\": 1", "\"sharded_backend_version\": 4611686018427387904"),
                good.replace("\"sharded_backend_version\": 1", "\"sharded_backend_version\": \"1\""),
                good.replace("\"torch_dist\"", "\"\""),
                good.replace("\"torch_dist\"", "null"),
                "[" + good + "]");
        for (String text : bad) {
            Files.writeString(md, text);
            for (String cmd : List.of("inspect", "verify")) {
                var r = ckpt(cmd, save);
                assertThat(r.code()).as(text + "\n" + r.out() + r.err()).isEqualTo(ExitCodes.PROBLEMS);
                assertThat(r.out() + r.err()).as(text).contains(md.toString()).doesNotContain("Exception");
            }
        }
    }

    /** The real file with its top-level tensor moved into a dict {"weight": tensor, "extra": <pickle>}. */
    private Path withEntry(byte[] extra) throws Exception {
        List<IndependentZip.Entry> entries = IndependentZip.read(REAL);
        String prefix = entries.getFirst().name().substring(0, entries.getFirst().name().indexOf('/'));
        byte[] pkl = entries.stream().filter(e -> e.name().endsWith("/data.pkl")).findFirst().orElseThrow().data();
        // the tensor: everything between PROTO 2 and STOP
        byte[] tensor = Arrays.copyOfRange(pkl, 2, pkl.length - 1);
        byte[] dict = cat(op(0x80, 2, '}', '('), str("weight"), tensor, str("extra"), extra, op('u', '.'));
        Path out = tmp.resolve("hostile-" + System.nanoTime() + ".pt");
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
             TorchZipWriter w = new TorchZipWriter(ch, 0, prefix)) {
            for (IndependentZip.Entry e : entries) {
                String record = e.name().substring(prefix.length() + 1);
                w.addSmall(record, record.equals("data.pkl") ? dict : e.data());
            }
            w.finish();
        }
        return out;
    }

    private static byte[] global(String module, String name) {
        return ascii("c" + module + "\n" + name + "\n");
    }

    private static byte[] str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return cat(op('X'), ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array(), b);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] op(int... ops) {
        byte[] b = new byte[ops.length];
        for (int i = 0; i < ops.length; i++) b[i] = (byte) ops[i];
        return b;
    }

    private static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }
}
