/* One native pass over an ASCII field (monitor/match/scan.py, `PatternTable.native`).
 *
 * The field is the lower-cased text of `ascii_folded`: tokens of [a-z0-9] separated by whitespace. The
 * scan makes the field's tokens (as `str.split` would, with the table's own str for a pattern word) and
 * their offsets, and for each token
 *   - looks up each of its prefixes whose length is that of some wildcard (the wildcard ids go into `found`);
 *   - looks it up among the single-word patterns (its key, the table's own str, goes into `found`) and the
 *     first tokens of sequences (its index is returned if the next token may continue one: a set of the
 *     hashes of every (first, second) pair, so most starts are never visited in Python);
 *   - after `attach`, adds the matcher's entries that those words and wildcards trigger to `cands`.
 * This replaces a set intersection over the field's tokens, a wildcard automaton over the text, a walk of
 * every token for sequence starts, and a dict lookup per found word: the tables are compact open-addressed
 * arrays of hashes, their slots fetched a few tokens ahead, so most tokens (no pattern) cost one probe.
 *
 * The module also holds `Memo` (_native_memo.c), word forms' set of known plain tokens, and `Folder`
 * (_native_fold.c), fold.py's `ascii_folded` in one pass.
 *
 * The pure-Python path (scan.py `PatternTable.hits_ascii` and `find_sequences` over all tokens) gives the
 * same results and is used when this module is not built; tests/match/test_native.py checks both agree.
 */
#include "_native.h"

#define FLAG_SINGLE 1u
#define FLAG_START 2u
#define FLAG_PREFIX 4u
#define FLAG_LOOSE 8u

typedef struct {
    const char *data; /* the key's ASCII bytes (owned by `key`) */
    uint32_t len;
    uint32_t flags;
    PyObject *key;  /* the word (str) */
    PyObject *pids; /* FLAG_PREFIX: tuple of the wildcard ids of this prefix */
    long *cands;    /* after `attach`: the entries (matcher.py) that this word or these wildcards trigger */
    Py_ssize_t ncands;
} Entry;

typedef struct {
    uint32_t mask;   /* slots - 1 */
    uint64_t *slots; /* (hash high 32 bits << 32) | (entry index + 1); 0 = empty */
    Entry *entries;
    Py_ssize_t count;
} Table;

typedef struct {
    PyObject_HEAD
    Table words;           /* single words and sequence starts */
    Table prefixes;        /* wildcard prefixes */
    unsigned char *is_len; /* is_len[n]: some wildcard has n characters */
    Py_ssize_t max_len;
    /* The (first, second) token pairs that begin a sequence, as a set of hashes: a start is returned only
     * if its pair may be one (a false positive only costs the caller a look), if it has sequences checked
     * whatever the second token (FLAG_LOOSE), or if the second token is a possessive "s". */
    uint64_t *pairs;
    uint32_t pair_mask;
    int attached; /* `attach` was called */
} IndexObject;


static uint64_t hash_bytes(const char *s, Py_ssize_t n) {
    uint64_t h = HASH_SEED;
    for (Py_ssize_t i = 0; i < n; i++) h = step(h, (unsigned char)s[i]);
    return finish(h);
}

static Entry *lookup(const Table *t, uint64_t h, const char *s, Py_ssize_t n) {
    if (t->slots == NULL) return NULL;
    uint32_t tag = (uint32_t)(h >> 32);
    uint32_t i = (uint32_t)h & t->mask;
    for (;;) {
        uint64_t slot = t->slots[i];
        if (slot == 0) return NULL;
        if ((uint32_t)(slot >> 32) == tag) {
            Entry *e = &t->entries[(uint32_t)slot - 1];
            if (e->len == (uint32_t)n && memcmp(e->data, s, (size_t)n) == 0) return e;
        }
        i = (i + 1) & t->mask;
    }
}

static int table_init(Table *t, Py_ssize_t capacity) {
    uint32_t size = 16;
    while (size < 2 * (uint64_t)capacity + 1) size <<= 1;
    t->mask = size - 1;
    t->slots = PyMem_Calloc(size, sizeof(uint64_t));
    t->entries = PyMem_Calloc(capacity ? (size_t)capacity : 1, sizeof(Entry));
    t->count = 0;
    if (t->slots == NULL || t->entries == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* The entry of `word`, added (with no flags) if new; NULL with an exception if `word` is not ASCII. */
static Entry *table_add(Table *t, PyObject *word) {
    if (!PyUnicode_Check(word) || !PyUnicode_IS_ASCII(word)) {
        PyErr_SetString(PyExc_ValueError, "native index keys must be ASCII str");
        return NULL;
    }
    const char *s = (const char *)PyUnicode_1BYTE_DATA(word);
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    uint64_t h = hash_bytes(s, n);
    Entry *e = lookup(t, h, s, n);
    if (e != NULL) return e;
    uint32_t i = (uint32_t)h & t->mask;
    while (t->slots[i] != 0) i = (i + 1) & t->mask;
    e = &t->entries[t->count];
    t->count++;
    t->slots[i] = ((uint64_t)(uint32_t)(h >> 32) << 32) | (uint64_t)t->count;
    Py_INCREF(word);
    e->key = word;
    e->data = s;
    e->len = (uint32_t)n;
    return e;
}

static void table_free(Table *t) {
    for (Py_ssize_t k = 0; k < t->count; k++) {
        Py_XDECREF(t->entries[k].key);
        Py_XDECREF(t->entries[k].pids);
        PyMem_Free(t->entries[k].cands);
    }
    PyMem_Free(t->slots);
    PyMem_Free(t->entries);
    t->slots = NULL;
    t->entries = NULL;
    t->count = 0;
}

static inline uint64_t pair_hash(uint64_t first, uint64_t second) {
    return finish(first * 0x9e3779b97f4a7c15ULL + second) | 1u; /* never 0, the empty slot */
}

static int pairs_init(IndexObject *self, PyObject *pairs) {
    PyObject *list = PySequence_Fast(pairs, "pairs must be a sequence");
    if (list == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(list);
    uint32_t size = 16;
    while (size < 2 * (uint64_t)n + 1) size <<= 1;
    self->pair_mask = size - 1;
    self->pairs = PyMem_Calloc(size, sizeof(uint64_t));
    if (self->pairs == NULL) {
        Py_DECREF(list);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(list, k);
        PyObject *first, *second;
        if (!PyTuple_Check(pair) || !PyArg_ParseTuple(pair, "UU", &first, &second)) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "pairs must be (str, str) tuples");
            Py_DECREF(list);
            return -1;
        }
        if (!PyUnicode_IS_ASCII(first) || !PyUnicode_IS_ASCII(second)) continue; /* never in ASCII text */
        uint64_t a = HASH_SEED, b = HASH_SEED;
        const unsigned char *s = PyUnicode_1BYTE_DATA(first);
        for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(first); i++) a = step(a, s[i]);
        s = PyUnicode_1BYTE_DATA(second);
        for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(second); i++) b = step(b, s[i]);
        uint64_t h = pair_hash(a, b);
        uint32_t i = (uint32_t)h & self->pair_mask;
        while (self->pairs[i] != 0 && self->pairs[i] != h) i = (i + 1) & self->pair_mask;
        self->pairs[i] = h;
    }
    Py_DECREF(list);
    return 0;
}

static inline int has_pair(const IndexObject *self, uint64_t h) {
    uint32_t i = (uint32_t)h & self->pair_mask;
    for (;;) {
        uint64_t slot = self->pairs[i];
        if (slot == h) return 1;
        if (slot == 0) return 0;
        i = (i + 1) & self->pair_mask;
    }
}

static void Index_dealloc(IndexObject *self) {
    PyMem_Free(self->pairs);
    table_free(&self->words);
    table_free(&self->prefixes);
    PyMem_Free(self->is_len);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Index(singles, starts, prefixes, loose, pairs): ASCII words that are single-word patterns, ASCII first
 * tokens of sequences, {ASCII wildcard prefix: tuple of its wildcard ids}, the first tokens that have
 * sequences checked whatever the second token, and the (first, second) token pairs of the others. */
static int Index_init(IndexObject *self, PyObject *args, PyObject *kwds) {
    PyObject *singles, *starts, *prefixes, *loose, *pairs;
    static char *kwlist[] = {"singles", "starts", "prefixes", "loose", "pairs", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!OO", kwlist, &singles, &starts, &PyDict_Type, &prefixes,
                                     &loose, &pairs))
        return -1;
    if (self->words.slots != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Index is already initialised");
        return -1;
    }
    PyObject *single_list = PySequence_Fast(singles, "singles must be a sequence");
    if (single_list == NULL) return -1;
    PyObject *start_list = PySequence_Fast(starts, "starts must be a sequence");
    if (start_list == NULL) {
        Py_DECREF(single_list);
        return -1;
    }
    Py_ssize_t n_single = PySequence_Fast_GET_SIZE(single_list), n_start = PySequence_Fast_GET_SIZE(start_list);
    int rc = -1;
    if (table_init(&self->words, n_single + n_start) < 0) goto done;
    for (Py_ssize_t k = 0; k < n_single; k++) {
        Entry *e = table_add(&self->words, PySequence_Fast_GET_ITEM(single_list, k));
        if (e == NULL) goto done;
        e->flags |= FLAG_SINGLE;
    }
    for (Py_ssize_t k = 0; k < n_start; k++) {
        Entry *e = table_add(&self->words, PySequence_Fast_GET_ITEM(start_list, k));
        if (e == NULL) goto done;
        e->flags |= FLAG_START;
    }
    PyObject *loose_list = PySequence_Fast(loose, "loose must be a sequence");
    if (loose_list == NULL) goto done;
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(loose_list); k++) {
        PyObject *word = PySequence_Fast_GET_ITEM(loose_list, k);
        if (!PyUnicode_Check(word) || !PyUnicode_IS_ASCII(word)) continue;
        const char *w = (const char *)PyUnicode_1BYTE_DATA(word);
        Entry *e = lookup(&self->words, hash_bytes(w, PyUnicode_GET_LENGTH(word)), w, PyUnicode_GET_LENGTH(word));
        if (e != NULL) e->flags |= FLAG_LOOSE;
    }
    Py_DECREF(loose_list);
    if (pairs_init(self, pairs) < 0) goto done;
    Py_ssize_t n_prefix = PyDict_Size(prefixes);
    if (table_init(&self->prefixes, n_prefix) < 0) goto done;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    self->max_len = 0;
    while (PyDict_Next(prefixes, &pos, &key, &value)) {
        if (!PyTuple_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "prefix ids must be a tuple");
            goto done;
        }
        Entry *e = table_add(&self->prefixes, key);
        if (e == NULL) goto done;
        e->flags |= FLAG_PREFIX;
        Py_INCREF(value);
        Py_XSETREF(e->pids, value);
        if ((Py_ssize_t)e->len > self->max_len) self->max_len = e->len;
    }
    self->is_len = PyMem_Calloc((size_t)self->max_len + 1, 1);
    if (self->is_len == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < self->prefixes.count; k++) self->is_len[self->prefixes.entries[k].len] = 1;
    rc = 0;
done:
    Py_DECREF(single_list);
    Py_DECREF(start_list);
    return rc;
}

static inline int is_space(unsigned char c) {
    /* str.split()'s whitespace among ASCII characters */
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static inline int add_entry_cands(PyObject *cands, const Entry *e) {
    for (Py_ssize_t k = 0; k < e->ncands; k++) {
        PyObject *v = PyLong_FromLong(e->cands[k]);
        if (v == NULL) return -1;
        int rc = PySet_Add(cands, v);
        Py_DECREF(v);
        if (rc < 0) return -1;
    }
    return 0;
}

/* scan(lower, found[, cands]) -> (indexes of the tokens that may start a sequence, each token's offset as
 * uint32 bytes, the tokens: `lower.split()`, with the table's own str for a token that is a word of the table).
 * With `cands` (after `attach`), the entries that the words and wildcards found trigger are added to it. */
static PyObject *Index_scan(IndexObject *self, PyObject *args) {
    PyObject *text, *found, *cands = Py_None;
    if (!PyArg_ParseTuple(args, "UO!|O", &text, &PySet_Type, &found, &cands)) return NULL;
    if (cands != Py_None && (!PySet_Check(cands) || !self->attached)) {
        PyErr_SetString(PyExc_ValueError, "cands needs a set, and `attach` called first");
        return NULL;
    }
    if (cands == Py_None) cands = NULL;
    if (!PyUnicode_IS_ASCII(text)) {
        PyErr_SetString(PyExc_ValueError, "scan needs ASCII text");
        return NULL;
    }
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "text too long");
        return NULL;
    }
    Py_ssize_t cap = n / 2 + 1; /* tokens are separated: at most this many */
    PyObject *offsets = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(cap * sizeof(uint32_t)));
    uint32_t *lens = PyMem_Malloc((size_t)cap * sizeof(uint32_t));
    uint64_t *hashes = PyMem_Malloc((size_t)cap * sizeof(uint64_t));
    PyObject *starts = PyList_New(0);
    PyObject *result = NULL, *tokens = NULL;
    if (offsets == NULL || lens == NULL || hashes == NULL || starts == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    uint32_t *begins = (uint32_t *)PyBytes_AS_STRING(offsets);
    const unsigned char *is_len = self->is_len;
    Py_ssize_t max_len = self->max_len;
    /* Pass 1: the tokens, their hashes (unfinished), and the wildcards their prefixes match (a small table). */
    Py_ssize_t i = 0, count = 0;
    while (i < n) {
        while (i < n && is_space(s[i])) i++;
        if (i >= n) break;
        Py_ssize_t begin = i;
        uint64_t h = HASH_SEED;
        while (i < n && !is_space(s[i])) {
            h = step(h, s[i]);
            i++;
            Py_ssize_t len = i - begin;
            if (len <= max_len && is_len[len]) { /* a prefix as long as some wildcard */
                Entry *p = lookup(&self->prefixes, finish(h), (const char *)s + begin, len);
                if (p != NULL) {
                    Py_ssize_t m = PyTuple_GET_SIZE(p->pids);
                    for (Py_ssize_t k = 0; k < m; k++)
                        if (PySet_Add(found, PyTuple_GET_ITEM(p->pids, k)) < 0) goto done;
                    if (cands != NULL && add_entry_cands(cands, p) < 0) goto done;
                }
            }
        }
        begins[count] = (uint32_t)begin;
        lens[count] = (uint32_t)(i - begin);
        hashes[count] = h;
        count++;
    }
    tokens = PyList_New(count);
    if (tokens == NULL) goto done;
    /* Pass 2: the big table, its slots fetched a few tokens ahead so that their cache misses overlap. */
    const Table *t = &self->words;
#define AHEAD 8
    for (Py_ssize_t k = 0; k < count && k < AHEAD; k++)
        __builtin_prefetch(&t->slots[(uint32_t)finish(hashes[k]) & t->mask]);
    for (Py_ssize_t k = 0; k < count; k++) {
        if (k + AHEAD < count) __builtin_prefetch(&t->slots[(uint32_t)finish(hashes[k + AHEAD]) & t->mask]);
        Entry *e = lookup(t, finish(hashes[k]), (const char *)s + begins[k], lens[k]);
        if (e == NULL) {
            PyObject *token = PyUnicode_New(lens[k], 127);
            if (token == NULL) goto done;
            memcpy(PyUnicode_1BYTE_DATA(token), s + begins[k], lens[k]);
            PyList_SET_ITEM(tokens, k, token);
            continue;
        }
        Py_INCREF(e->key);
        PyList_SET_ITEM(tokens, k, e->key);
        if ((e->flags & FLAG_SINGLE) && PySet_Add(found, e->key) < 0) goto done;
        if (cands != NULL && e->ncands && add_entry_cands(cands, e) < 0) goto done;
        if (!(e->flags & FLAG_START)) continue;
        if (!(e->flags & FLAG_LOOSE)) { /* worth a look only if the next token may continue a sequence */
            if (k + 1 >= count) continue;
            if (!(lens[k + 1] == 1 && s[begins[k + 1]] == 's') && !has_pair(self, pair_hash(hashes[k], hashes[k + 1])))
                continue;
        }
        PyObject *at = PyLong_FromSsize_t(k);
        if (at == NULL || PyList_Append(starts, at) < 0) {
            Py_XDECREF(at);
            goto done;
        }
        Py_DECREF(at);
    }
    if (_PyBytes_Resize(&offsets, (Py_ssize_t)(count * sizeof(uint32_t))) < 0) goto done;
    result = PyTuple_Pack(3, starts, offsets, tokens);
done:
    PyMem_Free(lens);
    PyMem_Free(hashes);
    Py_XDECREF(starts);
    Py_XDECREF(offsets);
    Py_XDECREF(tokens);
    return result;
}

/* Append the ints of `value` (a tuple, or None) to e->cands. */
static int add_cands(Entry *e, PyObject *value) {
    if (value == NULL || value == Py_None) return 0;
    if (!PyTuple_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "attach needs tuples of ints");
        return -1;
    }
    Py_ssize_t m = PyTuple_GET_SIZE(value);
    long *grown = PyMem_Realloc(e->cands, (size_t)(e->ncands + m + 1) * sizeof(long));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    e->cands = grown;
    for (Py_ssize_t k = 0; k < m; k++) {
        long v = PyLong_AsLong(PyTuple_GET_ITEM(value, k));
        if (v == -1 && PyErr_Occurred()) return -1;
        e->cands[e->ncands++] = v;
    }
    return 0;
}

/* attach(by_key): {pattern key: tuple of entry indexes} (matcher.py's trigger index); `scan` then adds the
 * entries that the words and wildcards it finds trigger to its `cands` set. */
static PyObject *Index_attach(IndexObject *self, PyObject *by_key) {
    if (!PyDict_Check(by_key)) {
        PyErr_SetString(PyExc_TypeError, "attach needs a dict");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < self->words.count; k++) {
        Entry *e = &self->words.entries[k];
        e->ncands = 0;
        if ((e->flags & FLAG_SINGLE) && add_cands(e, PyDict_GetItemWithError(by_key, e->key)) < 0) return NULL;
        if (PyErr_Occurred()) return NULL;
    }
    for (Py_ssize_t k = 0; k < self->prefixes.count; k++) {
        Entry *e = &self->prefixes.entries[k];
        e->ncands = 0;
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(e->pids); j++) {
            if (add_cands(e, PyDict_GetItemWithError(by_key, PyTuple_GET_ITEM(e->pids, j))) < 0) return NULL;
            if (PyErr_Occurred()) return NULL;
        }
    }
    self->attached = 1;
    Py_RETURN_NONE;
}

static PyMethodDef Index_methods[] = {
    {"attach", (PyCFunction)Index_attach, METH_O,
     "attach(by_key): the entries each pattern key triggers; scan(..., cands) then adds those it finds to cands."},
    {"scan", (PyCFunction)Index_scan, METH_VARARGS,
     "scan(lower, found): add the single words and wildcard ids met to found; the token indexes of sequence starts."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "monitor.match._native.Index",
    .tp_basicsize = sizeof(IndexObject),
    .tp_dealloc = (destructor)Index_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Compact lookup tables of a pattern table's ASCII words, sequence starts and wildcard prefixes.",
    .tp_methods = Index_methods,
    .tp_init = (initproc)Index_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "_native", "The matcher's native scan of ASCII fields (optional).", -1, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&IndexType) < 0 || PyType_Ready(&monitor_native_MemoType) < 0 ||
        PyType_Ready(&monitor_native_FolderType) < 0)
        return NULL;
    monitor_native_fold_init();
    PyObject *m = PyModule_Create(&native_module);
    if (m == NULL) return NULL;
    Py_INCREF(&IndexType);
    if (PyModule_AddObject(m, "Index", (PyObject *)&IndexType) < 0) {
        Py_DECREF(&IndexType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&monitor_native_FolderType);
    if (PyModule_AddObject(m, "Folder", (PyObject *)&monitor_native_FolderType) < 0) {
        Py_DECREF(&monitor_native_FolderType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&monitor_native_MemoType);
    if (PyModule_AddObject(m, "Memo", (PyObject *)&monitor_native_MemoType) < 0) {
        Py_DECREF(&monitor_native_MemoType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
