package ckpt.convert.index;

import java.util.function.Predicate;
import java.util.regex.Pattern;

/** {@code --filter} globs over checkpoint keys: {@code *} any run of characters (dots and slashes too), {@code ?} one. */
public final class KeyGlob {
    private KeyGlob() {
    }

    public static Predicate<String> of(String glob) {
        if (glob == null) return k -> true;
        StringBuilder re = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (char c : glob.toCharArray()) {
            if (c == '*' || c == '?') {
                if (!literal.isEmpty()) re.append(Pattern.quote(literal.toString()));
                literal.setLength(0);
                re.append(c == '*' ? ".*" : ".");
            } else {
                literal.append(c);
            }
        }
        if (!literal.isEmpty()) re.append(Pattern.quote(literal.toString()));
        Pattern p = Pattern.compile(re.toString(), Pattern.DOTALL);
        return k -> p.matcher(k).matches();
    }
}
