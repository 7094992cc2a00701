package ckpt.format.dcp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The items one pickled container gave to the columns instead of keeping them ({@link PickledRecords#sink}), in
 * pickle order: row entries (a key row and record row of {@code storage_data}, or a chunk box row) and, after the
 * first of those, any other item as the object it was, so nothing is reordered or lost.
 */
final class SunkItems {
    private int[] first = new int[16];  // a row, or -1 - n for generic item n
    private int[] second = new int[16];
    private final List<Object> generic = new ArrayList<>();
    private int size;
    /** The length the arrays take at their first growth, instead of doubling ({@link DcpColumns#presizeRows}). */
    private final int presize;

    SunkItems() {
        this(0);
    }

    SunkItems(int presize) {
        this.presize = presize;
    }

    void addRows(int a, int b) {
        grow();
        first[size] = a;
        second[size++] = b;
    }

    /** @param value null for a list item */
    void addGeneric(Object key, Object value) {
        grow();
        first[size] = -1 - generic.size() / 2;
        generic.add(key);
        generic.add(value);
        second[size++] = 0;
    }

    /** Items the arrays hold before they grow, for tests. */
    int capacity() {
        return first.length;
    }

    int size() {
        return size;
    }

    boolean isRows(int i) {
        return first[i] >= 0;
    }

    int first(int i) {
        return first[i];
    }

    int second(int i) {
        return second[i];
    }

    /** The key (dict) or value (list) of a generic item. */
    Object genericKey(int i) {
        return generic.get(2 * (-1 - first[i]));
    }

    Object genericValue(int i) {
        return generic.get(2 * (-1 - first[i]) + 1);
    }

    private void grow() {
        if (size < first.length) return;
        first = Arrays.copyOf(first, DcpColumns.grow(first.length, presize));
        second = Arrays.copyOf(second, first.length);
    }
}
