package ckpt.convert.mapping.imports;

/** Which instance of a per-layer or per-expert rule: layer {@code layer}, expert {@code expert} (-1 when none). */
public record Position(long layer, long expert) {
    public static final Position GLOBAL = new Position(-1, -1);

    public static Position layer(long i) {
        return new Position(i, -1);
    }
}
