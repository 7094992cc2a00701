package ckpt.cli;

import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * {@code --filter} over checkpoint keys: a plain word matches keys that contain it; with {@code *} (any run of
 * characters, dots and slashes too) or {@code ?} (one character) it is a glob that must match the whole key.
 */
final class KeyGlob {
    private KeyGlob() {
    }

    static Predicate<String> of(String glob) {
        if (glob == null) return k -> true;
        if (glob.indexOf('*') < 0 && glob.indexOf('?') < 0) return k -> k.contains(glob);
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
