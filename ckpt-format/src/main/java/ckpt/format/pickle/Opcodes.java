package ckpt.format.pickle;

/** Pickle opcode bytes (CPython Lib/pickle.py, FORMATS.md §1.2) and their names for messages. */
final class Opcodes {
    static final int MARK = 0x28, STOP = 0x2E, POP = 0x30, POP_MARK = 0x31, DUP = 0x32, FLOAT = 0x46, INT = 0x49,
            BININT = 0x4A, BININT1 = 0x4B, LONG = 0x4C, BININT2 = 0x4D, NONE = 0x4E, PERSID = 0x50, BINPERSID = 0x51,
            REDUCE = 0x52, STRING = 0x53, BINSTRING = 0x54, SHORT_BINSTRING = 0x55, UNICODE = 0x56, BINUNICODE = 0x58,
            APPEND = 0x61, BUILD = 0x62, GLOBAL = 0x63, DICT = 0x64, EMPTY_DICT = 0x7D, APPENDS = 0x65, GET = 0x67,
            BINGET = 0x68, INST = 0x69, LONG_BINGET = 0x6A, LIST = 0x6C, EMPTY_LIST = 0x5D, OBJ = 0x6F, PUT = 0x70,
            BINPUT = 0x71, LONG_BINPUT = 0x72, SETITEM = 0x73, TUPLE = 0x74, EMPTY_TUPLE = 0x29, SETITEMS = 0x75,
            BINFLOAT = 0x47,
            // protocol 2
            PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
            TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8A, LONG4 = 0x8B,
            // protocol 3
            BINBYTES = 0x42, SHORT_BINBYTES = 0x43,
            // protocol 4
            SHORT_BINUNICODE = 0x8C, BINUNICODE8 = 0x8D, BINBYTES8 = 0x8E, EMPTY_SET = 0x8F, ADDITEMS = 0x90,
            FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
            // protocol 5
            BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98;

    private static final String[] NAMES = new String[256];

    static {
        Object[] table = {
            MARK, "MARK", STOP, "STOP", POP, "POP", POP_MARK, "POP_MARK", DUP, "DUP", FLOAT, "FLOAT", INT, "INT",
            BININT, "BININT", BININT1, "BININT1", LONG, "LONG", BININT2, "BININT2", NONE, "NONE", PERSID, "PERSID",
            BINPERSID, "BINPERSID", REDUCE, "REDUCE", STRING, "STRING", BINSTRING, "BINSTRING",
            SHORT_BINSTRING, "SHORT_BINSTRING", UNICODE, "UNICODE", BINUNICODE, "BINUNICODE", APPEND, "APPEND",
            BUILD, "BUILD", GLOBAL, "GLOBAL", DICT, "DICT", EMPTY_DICT, "EMPTY_DICT", APPENDS, "APPENDS", GET, "GET",
            BINGET, "BINGET", INST, "INST", LONG_BINGET, "LONG_BINGET", LIST, "LIST", EMPTY_LIST, "EMPTY_LIST",
            OBJ, "OBJ", PUT, "PUT", BINPUT, "BINPUT", LONG_BINPUT, "LONG_BINPUT", SETITEM, "SETITEM", TUPLE, "TUPLE",
            EMPTY_TUPLE, "EMPTY_TUPLE", SETITEMS, "SETITEMS", BINFLOAT, "BINFLOAT", PROTO, "PROTO", NEWOBJ, "NEWOBJ",
            EXT1, "EXT1", EXT2, "EXT2", EXT4, "EXT4", TUPLE1, "TUPLE1", TUPLE2, "TUPLE2", TUPLE3, "TUPLE3",
            NEWTRUE, "NEWTRUE", NEWFALSE, "NEWFALSE", LONG1, "LONG1", LONG4, "LONG4", BINBYTES, "BINBYTES",
            SHORT_BINBYTES, "SHORT_BINBYTES", SHORT_BINUNICODE, "SHORT_BINUNICODE", BINUNICODE8, "BINUNICODE8",
            BINBYTES8, "BINBYTES8", EMPTY_SET, "EMPTY_SET", ADDITEMS, "ADDITEMS", FROZENSET, "FROZENSET",
            NEWOBJ_EX, "NEWOBJ_EX", STACK_GLOBAL, "STACK_GLOBAL", MEMOIZE, "MEMOIZE", FRAME, "FRAME",
            BYTEARRAY8, "BYTEARRAY8", NEXT_BUFFER, "NEXT_BUFFER", READONLY_BUFFER, "READONLY_BUFFER",
        };
        for (int i = 0; i < table.length; i += 2) NAMES[(Integer) table[i]] = (String) table[i + 1];
    }

    private Opcodes() {}

    /** An error message's detail: "pickle opcode BINUNICODE", or "byte 0xab" where no opcode is. */
    static String detail(int op) {
        return NAMES[op] == null ? String.format("byte 0x%02x", op) : "pickle opcode " + NAMES[op];
    }

    /** "BINUNICODE (0x58)", or "unknown opcode 0xAB". */
    static String describe(int op) {
        String hex = String.format("0x%02x", op);
        return NAMES[op] == null ? "unknown opcode " + hex : NAMES[op] + " (" + hex + ")";
    }
}
