package ckpt.format.pickle;

import java.util.HashMap;
import java.util.Map;

/**
 * Python 2 → 3 global renaming, as {@code pickle.Unpickler(fix_imports=True)} applies it to protocol 0–2 streams
 * (CPython {@code Lib/_compat_pickle.py}), the reverse a protocol-2 writer applies, and torch's own module move
 * {@code torch.tensor → torch._tensor}.
 */
final class PythonNames {
    private static final Map<String, String> IMPORT = new HashMap<>();
    private static final Map<PyGlobal, PyGlobal> NAME = new HashMap<>();
    private static final Map<String, String> REVERSE_IMPORT = new HashMap<>();
    private static final Map<PyGlobal, PyGlobal> REVERSE_NAME = new HashMap<>();

    static {
        String[] imports = {
            "__builtin__", "builtins", "copy_reg", "copyreg", "Queue", "queue", "SocketServer", "socketserver",
            "ConfigParser", "configparser", "repr", "reprlib", "tkFileDialog", "tkinter.filedialog",
            "tkSimpleDialog", "tkinter.simpledialog", "tkColorChooser", "tkinter.colorchooser",
            "tkCommonDialog", "tkinter.commondialog", "Dialog", "tkinter.dialog", "Tkdnd", "tkinter.dnd",
            "tkFont", "tkinter.font", "tkMessageBox", "tkinter.messagebox", "ScrolledText", "tkinter.scrolledtext",
            "Tkconstants", "tkinter.constants", "Tix", "tkinter.tix", "ttk", "tkinter.ttk", "Tkinter", "tkinter",
            "markupbase", "_markupbase", "_winreg", "winreg", "thread", "_thread", "dummy_thread", "_dummy_thread",
            "dbhash", "dbm.bsd", "dumbdbm", "dbm.dumb", "dbm", "dbm.ndbm", "gdbm", "dbm.gnu",
            "xmlrpclib", "xmlrpc.client", "SimpleXMLRPCServer", "xmlrpc.server", "httplib", "http.client",
            "htmlentitydefs", "html.entities", "HTMLParser", "html.parser", "Cookie", "http.cookies",
            "cookielib", "http.cookiejar", "BaseHTTPServer", "http.server", "test.test_support", "test.support",
            "commands", "subprocess", "urlparse", "urllib.parse", "robotparser", "urllib.robotparser",
            "urllib2", "urllib.request", "anydbm", "dbm", "_abcoll", "collections.abc",
        };
        for (int i = 0; i < imports.length; i += 2) {
            IMPORT.put(imports[i], imports[i + 1]);
            REVERSE_IMPORT.put(imports[i + 1], imports[i]);
        }
        String[] names = {
            "__builtin__", "xrange", "builtins", "range",
            "__builtin__", "reduce", "functools", "reduce",
            "__builtin__", "intern", "sys", "intern",
            "__builtin__", "unichr", "builtins", "chr",
            "__builtin__", "unicode", "builtins", "str",
            "__builtin__", "long", "builtins", "int",
            "itertools", "izip", "builtins", "zip",
            "itertools", "imap", "builtins", "map",
            "itertools", "ifilter", "builtins", "filter",
            "itertools", "ifilterfalse", "itertools", "filterfalse",
            "itertools", "izip_longest", "itertools", "zip_longest",
            "UserDict", "IterableUserDict", "collections", "UserDict",
            "UserList", "UserList", "collections", "UserList",
            "UserString", "UserString", "collections", "UserString",
            "whichdb", "whichdb", "dbm", "whichdb",
            "_socket", "fromfd", "socket", "fromfd",
            "_multiprocessing", "Connection", "multiprocessing.connection", "Connection",
            "multiprocessing.process", "Process", "multiprocessing.context", "Process",
            "multiprocessing.forking", "Popen", "multiprocessing.popen_fork", "Popen",
            "urllib", "ContentTooShortError", "urllib.error", "ContentTooShortError",
            "urllib", "getproxies", "urllib.request", "getproxies",
            "urllib", "pathname2url", "urllib.request", "pathname2url",
            "urllib", "quote_plus", "urllib.parse", "quote_plus",
            "urllib", "quote", "urllib.parse", "quote",
            "urllib", "unquote_plus", "urllib.parse", "unquote_plus",
            "urllib", "unquote", "urllib.parse", "unquote",
            "urllib", "url2pathname", "urllib.request", "url2pathname",
            "urllib", "urlcleanup", "urllib.request", "urlcleanup",
            "urllib", "urlencode", "urllib.parse", "urlencode",
            "urllib", "urlopen", "urllib.request", "urlopen",
            "urllib", "urlretrieve", "urllib.request", "urlretrieve",
            "urllib2", "HTTPError", "urllib.error", "HTTPError",
            "urllib2", "URLError", "urllib.error", "URLError",
        };
        for (int i = 0; i < names.length; i += 4) mutualName(names[i], names[i + 1], names[i + 2], names[i + 3]);
        String[] py2Exceptions = {
            "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BufferError", "BytesWarning",
            "DeprecationWarning", "EOFError", "EnvironmentError", "Exception", "FloatingPointError",
            "FutureWarning", "GeneratorExit", "IOError", "ImportError", "ImportWarning", "IndentationError",
            "IndexError", "KeyError", "KeyboardInterrupt", "LookupError", "MemoryError", "NameError",
            "NotImplementedError", "OSError", "OverflowError", "PendingDeprecationWarning", "ReferenceError",
            "RuntimeError", "RuntimeWarning", "StopIteration", "SyntaxError", "SyntaxWarning", "SystemError",
            "SystemExit", "TabError", "TargetScopeError", "TypeError", "UnboundLocalError", "UnicodeDecodeError",
            "UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError", "UnicodeWarning", "UserWarning",
            "ValueError", "Warning", "ZeroDivisionError",
        };
        for (String e : py2Exceptions) mutualName("exceptions", e, "builtins", e);
        for (String e : new String[] {"AuthenticationError", "BufferTooShort", "ProcessError", "TimeoutError"}) {
            mutualName("multiprocessing", e, "multiprocessing.context", e);
        }
        // One-way entries (old Python 3 pickles and aliases); the writer never produces these names.
        String[] oneWayImports = {
            "cPickle", "pickle", "_elementtree", "xml.etree.ElementTree", "FileDialog", "tkinter.filedialog",
            "SimpleDialog", "tkinter.simpledialog", "DocXMLRPCServer", "xmlrpc.server",
            "SimpleHTTPServer", "http.server", "CGIHTTPServer", "http.server", "UserDict", "collections",
            "UserList", "collections", "UserString", "collections", "whichdb", "dbm", "StringIO", "io",
            "cStringIO", "io",
        };
        for (int i = 0; i < oneWayImports.length; i += 2) IMPORT.put(oneWayImports[i], oneWayImports[i + 1]);
        NAME.put(new PyGlobal("__builtin__", "basestring"), new PyGlobal("builtins", "str"));
        NAME.put(new PyGlobal("exceptions", "StandardError"), new PyGlobal("builtins", "Exception"));
        NAME.put(new PyGlobal("UserDict", "UserDict"), new PyGlobal("collections", "UserDict"));
        NAME.put(new PyGlobal("socket", "_socketobject"), new PyGlobal("socket", "SocketType"));
    }

    private PythonNames() {}

    private static void mutualName(String m2, String n2, String m3, String n3) {
        NAME.put(new PyGlobal(m2, n2), new PyGlobal(m3, n3));
        REVERSE_NAME.put(new PyGlobal(m3, n3), new PyGlobal(m2, n2));
    }

    /** The global an unpickler resolves: compat renaming only for protocol ≤ 2 streams, then torch's own move. */
    static PyGlobal resolve(String module, String name, int protocol) {
        if (protocol < 3) {
            PyGlobal renamed = NAME.get(new PyGlobal(module, name));
            if (renamed != null) {
                module = renamed.module();
                name = renamed.name();
            } else {
                module = IMPORT.getOrDefault(module, module);
            }
        }
        if (module.equals("torch.tensor")) module = "torch._tensor";
        return new PyGlobal(module, name);
    }

    /** The name a protocol-2 writer emits (CPython's save_global with fix_imports). */
    static PyGlobal toPython2(PyGlobal g) {
        PyGlobal renamed = REVERSE_NAME.get(g);
        if (renamed != null) return renamed;
        String m = REVERSE_IMPORT.get(g.module());
        return m == null ? g : new PyGlobal(m, g.name());
    }
}
