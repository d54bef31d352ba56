#include "_native.h"

/* Folder: fold.py's `ascii_folded` in one pass, part of monitor.match._native.
 *
 * Folder(separators)(text): the text with ASCII letters lower-cased, digits kept, every other ASCII character
 * and every character of `separators` a space; None if the text holds any other character.
 */

typedef struct {
    PyObject_HEAD
    Py_UCS4 *separators; /* sorted */
    Py_ssize_t count;
} FolderObject;

static unsigned char ascii_fold[128];

static void Folder_dealloc(FolderObject *self) {
    PyMem_Free(self->separators);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int compare_ucs4(const void *a, const void *b) {
    Py_UCS4 x = *(const Py_UCS4 *)a, y = *(const Py_UCS4 *)b;
    return x < y ? -1 : x > y;
}

static int Folder_init(FolderObject *self, PyObject *args, PyObject *kwds) {
    PyObject *separators;
    static char *kwlist[] = {"separators", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U", kwlist, &separators)) return -1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(separators);
    PyMem_Free(self->separators);
    self->separators = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Py_UCS4));
    if (self->separators == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) self->separators[i] = PyUnicode_READ_CHAR(separators, i);
    qsort(self->separators, (size_t)n, sizeof(Py_UCS4), compare_ucs4);
    self->count = n;
    return 0;
}

static inline int is_separator(const FolderObject *self, Py_UCS4 c) {
    Py_ssize_t lo = 0, hi = self->count;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (self->separators[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < self->count && self->separators[lo] == c;
}

static PyObject *Folder_call(FolderObject *self, PyObject *args, PyObject *kwds) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL) return NULL;
    unsigned char *o = PyUnicode_1BYTE_DATA(out);
    if (PyUnicode_IS_ASCII(text)) { /* the commonest case: a table per byte */
        const unsigned char *d = data;
        for (Py_ssize_t i = 0; i < n; i++) o[i] = ascii_fold[d[i]];
        return out;
    }
    if (kind == PyUnicode_2BYTE_KIND) { /* typographic quotes and dashes: the next commonest */
        const Py_UCS2 *d = data;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS2 c = d[i];
            if (c < 128) {
                o[i] = ascii_fold[c];
            } else if (is_separator(self, c)) {
                o[i] = ' ';
            } else {
                Py_DECREF(out);
                Py_RETURN_NONE;
            }
        }
        return out;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 128) {
            o[i] = ascii_fold[c];
        } else if (is_separator(self, c)) {
            o[i] = ' ';
        } else {
            Py_DECREF(out);
            Py_RETURN_NONE;
        }
    }
    return out;
}

PyTypeObject monitor_native_FolderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "monitor.match._native.Folder",
    .tp_basicsize = sizeof(FolderObject),
    .tp_dealloc = (destructor)Folder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Folder(separators)(text): fold.py's ascii_folded in one pass.",
    .tp_init = (initproc)Folder_init,
    .tp_new = PyType_GenericNew,
    .tp_call = (ternaryfunc)Folder_call,
};

void monitor_native_fold_init(void) {
    for (int c = 0; c < 128; c++)
        ascii_fold[c] = (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32)
                        : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) ? (unsigned char)c : ' ';
}
