#include "_native.h"

/* Memo: a set of str for word forms (monitor/match/forms.py), part of monitor.match._native.
 *
 * forms.py's analyzers remember the tokens that are no form of a listed word (tens of thousands of them);
 * every token of a field with word forms is looked up there. `unknown` does that pass with the slots of
 * tokens a few ahead fetched early, and compares short tokens inside the entry, so that most lookups cost
 * one overlapped cache miss instead of two in a row (Python's set: its slot, then the str it holds).
 */

typedef struct {
    uint64_t hash;
    PyObject *key;
    uint32_t nbytes;
    uint32_t kind;
    char inline_data[16];
} MemoEntry;

typedef struct {
    PyObject_HEAD
    uint64_t *slots; /* (hash high 32 bits << 32) | (entry index + 1); 0 = empty */
    uint32_t mask;
    MemoEntry *entries;
    Py_ssize_t count, capacity;
} MemoObject;

static inline uint64_t hash_str(PyObject *str) {
    const unsigned char *d = PyUnicode_DATA(str);
    Py_ssize_t nbytes = PyUnicode_GET_LENGTH(str) * PyUnicode_KIND(str);
    uint64_t h = step(HASH_SEED, (unsigned char)PyUnicode_KIND(str));
    for (Py_ssize_t i = 0; i < nbytes; i++) h = step(h, d[i]);
    return finish(h);
}

static inline int memo_equal(const MemoEntry *e, PyObject *str) {
    Py_ssize_t nbytes = PyUnicode_GET_LENGTH(str) * PyUnicode_KIND(str);
    if (e->nbytes != (uint32_t)nbytes || e->kind != (uint32_t)PyUnicode_KIND(str)) return 0;
    const void *data = nbytes <= 16 ? (const void *)e->inline_data : PyUnicode_DATA(e->key);
    return memcmp(data, PyUnicode_DATA(str), (size_t)nbytes) == 0;
}

static int memo_find(const MemoObject *m, uint64_t h, PyObject *str) {
    if (m->slots == NULL) return 0;
    uint32_t tag = (uint32_t)(h >> 32), i = (uint32_t)h & m->mask;
    for (;;) {
        uint64_t slot = m->slots[i];
        if (slot == 0) return 0;
        if ((uint32_t)(slot >> 32) == tag && memo_equal(&m->entries[(uint32_t)slot - 1], str)) return 1;
        i = (i + 1) & m->mask;
    }
}

static int memo_resize(MemoObject *m, Py_ssize_t wanted) {
    uint32_t size = 64;
    while (size < 2 * (uint64_t)wanted + 1) size <<= 1;
    if (m->slots != NULL && size <= m->mask + 1 && wanted <= m->capacity) return 0;
    uint64_t *slots = PyMem_Calloc(size, sizeof(uint64_t));
    MemoEntry *entries = PyMem_Realloc(m->entries, (size_t)(size / 2) * sizeof(MemoEntry));
    if (slots == NULL || entries == NULL) {
        PyMem_Free(slots);
        if (entries != NULL) m->entries = entries;
        PyErr_NoMemory();
        return -1;
    }
    m->entries = entries;
    m->capacity = size / 2;
    m->mask = size - 1;
    for (Py_ssize_t k = 0; k < m->count; k++) {
        uint64_t h = entries[k].hash;
        uint32_t i = (uint32_t)h & m->mask;
        while (slots[i] != 0) i = (i + 1) & m->mask;
        slots[i] = ((uint64_t)(uint32_t)(h >> 32) << 32) | (uint64_t)(k + 1);
    }
    PyMem_Free(m->slots);
    m->slots = slots;
    return 0;
}

static void memo_clear_entries(MemoObject *m) {
    for (Py_ssize_t k = 0; k < m->count; k++) Py_DECREF(m->entries[k].key);
    m->count = 0;
    if (m->slots != NULL) memset(m->slots, 0, (size_t)(m->mask + 1) * sizeof(uint64_t));
}

static void Memo_dealloc(MemoObject *self) {
    memo_clear_entries(self);
    PyMem_Free(self->slots);
    PyMem_Free(self->entries);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* add(tokens): remember every str of an iterable */
static PyObject *Memo_add(MemoObject *self, PyObject *iterable) {
    PyObject *items = PySequence_Fast(iterable, "add needs an iterable of str");
    if (items == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
    if (memo_resize(self, self->count + n) < 0) {
        Py_DECREF(items);
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *str = PySequence_Fast_GET_ITEM(items, k);
        if (!PyUnicode_Check(str)) {
            Py_DECREF(items);
            PyErr_SetString(PyExc_TypeError, "Memo holds str only");
            return NULL;
        }
        uint64_t h = hash_str(str);
        if (memo_find(self, h, str)) continue;
        MemoEntry *e = &self->entries[self->count];
        Py_ssize_t nbytes = PyUnicode_GET_LENGTH(str) * PyUnicode_KIND(str);
        e->hash = h;
        e->nbytes = (uint32_t)nbytes;
        e->kind = (uint32_t)PyUnicode_KIND(str);
        if (nbytes <= 16) memcpy(e->inline_data, PyUnicode_DATA(str), (size_t)nbytes);
        Py_INCREF(str);
        e->key = str;
        self->count++;
        uint32_t i = (uint32_t)h & self->mask;
        while (self->slots[i] != 0) i = (i + 1) & self->mask;
        self->slots[i] = ((uint64_t)(uint32_t)(h >> 32) << 32) | (uint64_t)self->count;
    }
    Py_DECREF(items);
    Py_RETURN_NONE;
}

/* unknown(tokens) -> set of the tokens (an iterable of str) not remembered */
static PyObject *Memo_unknown(MemoObject *self, PyObject *iterable) {
    PyObject *items = PySequence_Fast(iterable, "unknown needs an iterable of str");
    if (items == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
    PyObject **tokens = PySequence_Fast_ITEMS(items);
    PyObject *out = PySet_New(NULL);
    uint64_t *hashes = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    if (out == NULL || hashes == NULL) goto fail;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (!PyUnicode_Check(tokens[k])) {
            PyErr_SetString(PyExc_TypeError, "Memo holds str only");
            goto fail;
        }
        hashes[k] = hash_str(tokens[k]);
        if (self->slots != NULL) __builtin_prefetch(&self->slots[(uint32_t)hashes[k] & self->mask]);
    }
    for (Py_ssize_t k = 0; k < n; k++)
        if (!memo_find(self, hashes[k], tokens[k]) && PySet_Add(out, tokens[k]) < 0) goto fail;
    PyMem_Free(hashes);
    Py_DECREF(items);
    return out;
fail:
    if (out != NULL && !PyErr_Occurred()) PyErr_NoMemory();
    if (out == NULL && !PyErr_Occurred()) PyErr_NoMemory();
    PyMem_Free(hashes);
    Py_XDECREF(out);
    Py_DECREF(items);
    return NULL;
}

static PyObject *Memo_clear(MemoObject *self, PyObject *Py_UNUSED(ignored)) {
    memo_clear_entries(self);
    Py_RETURN_NONE;
}

static Py_ssize_t Memo_len(MemoObject *self) { return self->count; }

static int Memo_contains(MemoObject *self, PyObject *str) {
    if (!PyUnicode_Check(str)) return 0;
    return memo_find(self, hash_str(str), str);
}

static PyMethodDef Memo_methods[] = {
    {"add", (PyCFunction)Memo_add, METH_O, "add(tokens): remember every str of an iterable."},
    {"unknown", (PyCFunction)Memo_unknown, METH_O, "unknown(tokens): the set of the tokens not remembered."},
    {"clear", (PyCFunction)Memo_clear, METH_NOARGS, "clear(): forget every token."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Memo_as_sequence = {
    .sq_length = (lenfunc)Memo_len,
    .sq_contains = (objobjproc)Memo_contains,
};

PyTypeObject monitor_native_MemoType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "monitor.match._native.Memo",
    .tp_basicsize = sizeof(MemoObject),
    .tp_dealloc = (destructor)Memo_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A set of str made for one pass of lookups over a field's tokens (word forms' known plain tokens).",
    .tp_methods = Memo_methods,
    .tp_as_sequence = &Memo_as_sequence,
    .tp_new = PyType_GenericNew,
};
