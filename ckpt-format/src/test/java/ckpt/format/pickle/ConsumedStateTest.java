package ckpt.format.pickle;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A Buildable that consumes its state lets the reader drop the state dict from the memo; a later GET of it fails loudly. */
class ConsumedStateTest {
    static final class Consumer implements Buildable {
        Object a;

        @Override
        public void build(Object state) {
            a = ((PyDict) state).get("a");
        }

        @Override
        public boolean consumesState() {
            return true;
        }
    }

    /** C() with BUILD {'a': 1}; optionally GET the state dict again afterwards. */
    private static byte[] pickle(boolean getStateAgain) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80); b.write(4);                                     // PROTO 4
        str(b, "m"); b.write(0x94);                                    // memo 0
        str(b, "C"); b.write(0x94);                                    // memo 1
        b.write(0x93); b.write(0x94);                                  // STACK_GLOBAL, memo 2
        b.write(')'); b.write(0x81); b.write(0x94);                    // EMPTY_TUPLE NEWOBJ, memo 3
        b.write('}'); b.write(0x94);                                   // EMPTY_DICT, memo 4
        str(b, "a"); b.write(0x94); b.write('K'); b.write(1); b.write('s'); // SETITEM 'a' = 1
        b.write('b');                                                  // BUILD
        if (getStateAgain) {
            b.write('0');                                              // POP the object
            b.write('h'); b.write(4);                                  // BINGET 4: the consumed state dict
        }
        b.write('.');
        return b.toByteArray();
    }

    private static void str(ByteArrayOutputStream b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        b.write(0x8C); b.write(u.length); b.write(u, 0, u.length);
    }

    private static PickleReader reader() {
        return PickleReader.builder().reducer("m", "C", args -> new Consumer()).build();
    }

    @Test
    void consumedStateIsBuiltAndDropped() {
        Object v = reader().read(pickle(false));
        assertThat(v).isInstanceOf(Consumer.class);
        assertThat(((Consumer) v).a).isEqualTo(1L);
    }

    @Test
    void referencingAConsumedStateAgainIsAnError() {
        assertThatThrownBy(() -> reader().read(pickle(true))).isInstanceOf(PickleException.class)
                .hasMessageContaining("unsupported pickle feature: an object's state is referred to again after it was used");
    }
}
