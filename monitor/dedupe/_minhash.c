/* Clustering fingerprints in one C pass (optional; monitor/dedupe/minhash.py falls back to numpy).

prints(items, min_shingles) gives, for each item, what minhash_numpy.fingerprints computes bit for bit
(tests/dedupe/test_numpy_minhash.py runs both against the pure-Python reference):

- an item is an ASCII str (split here: a word is a run of [A-Za-z0-9_], lower-cased, as minhash_base.word_ids
  does on ASCII text) or the list of a text's word ids (crc32 of each folded word, made in Python);
- each word 3-shingle is mixed into 64 bits; the hashes are sorted and made unique (packed little-endian);
- with at least min_shingles hashes: the one-permutation MinHash signature (32 bins, empty bins filled by
  rotation) and 16 LSH band keys, each the first 8 bytes of BLAKE2b over "band:first,second" in decimal,
  read as a signed little-endian integer. Otherwise no signature and no keys.

crc32 and BLAKE2b are written out here (zlib's polynomial; RFC 7693 for one block, no key), so the
extension needs no library; their results are those of zlib.crc32 and hashlib.blake2b(digest_size=8).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define SHINGLE_WORDS 3
#define BINS 32
#define ROWS 2
#define BANDS (BINS / ROWS)
#define BIN_SHIFT 59 /* 64 - log2(BINS) */
#define VALUE_MASK ((UINT64_C(1) << BIN_SHIFT) - 1)
#define TAG_SHIFT 5
#define MIX_SHIFT 31
#define M1 UINT64_C(0x9E3779B97F4A7C15)
#define M2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define M3 UINT64_C(0x165667B19E3779F9)

/* --- crc32 (zlib's: reflected polynomial 0xEDB88320) ------------------------------------------------ */

static uint32_t crc_table[256];
static unsigned char word_byte[256]; /* a word character lower-cased, else 0 */

static void tables_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
        int word = (n >= 'a' && n <= 'z') || (n >= '0' && n <= '9') || n == '_' || (n >= 'A' && n <= 'Z');
        word_byte[n] = (unsigned char)(!word ? 0 : (n >= 'A' && n <= 'Z') ? n + ('a' - 'A') : n);
    }
}

/* --- BLAKE2b of one short message (<= 128 bytes), 8-byte digest, no key (RFC 7693) ------------------ */

static const uint64_t blake_iv[8] = {
    UINT64_C(0x6a09e667f3bcc908), UINT64_C(0xbb67ae8584caa73b), UINT64_C(0x3c6ef372fe94f82b),
    UINT64_C(0xa54ff53a5f1d36f1), UINT64_C(0x510e527fade682d1), UINT64_C(0x9b05688c2b3e6c1f),
    UINT64_C(0x1f83d9abfb41bd6b), UINT64_C(0x5be0cd19137e2179),
};

static const uint8_t blake_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static inline uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

#define G(a, b, c, d, x, y)                   \
    do {                                      \
        v[a] = v[a] + v[b] + (x);             \
        v[d] = rotr64(v[d] ^ v[a], 32);       \
        v[c] = v[c] + v[d];                   \
        v[b] = rotr64(v[b] ^ v[c], 24);       \
        v[a] = v[a] + v[b] + (y);             \
        v[d] = rotr64(v[d] ^ v[a], 16);       \
        v[c] = v[c] + v[d];                   \
        v[b] = rotr64(v[b] ^ v[c], 63);       \
    } while (0)

/* The first 8 bytes of BLAKE2b-64 of msg, as the little-endian integer they spell. */
static uint64_t blake2b_8(const unsigned char *msg, size_t len) {
    uint64_t h0 = blake_iv[0] ^ UINT64_C(0x01010008); /* depth 1, fanout 1, no key, 8-byte digest */
    uint64_t m[16] = {0};
    for (size_t i = 0; i < len; i++) m[i / 8] |= (uint64_t)msg[i] << (8 * (i % 8));
    uint64_t v[16];
    v[0] = h0;
    for (int i = 1; i < 8; i++) v[i] = blake_iv[i];
    for (int i = 0; i < 8; i++) v[i + 8] = blake_iv[i];
    v[12] ^= (uint64_t)len; /* bytes compressed so far: the only block */
    v[14] = ~v[14];         /* the last block */
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = blake_sigma[r];
        G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    return h0 ^ v[0] ^ v[8];
}

/* --- buffers -------------------------------------------------------------------------------------- */

typedef struct {
    uint64_t *data;
    Py_ssize_t len, cap;
} Buffer;

static int buffer_reserve(Buffer *b, Py_ssize_t cap) {
    if (cap <= b->cap) return 0;
    Py_ssize_t grown = b->cap ? b->cap : 256;
    while (grown < cap) grown *= 2;
    uint64_t *data = PyMem_Realloc(b->data, (size_t)grown * sizeof(uint64_t));
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = grown;
    return 0;
}

/* The word ids of an ASCII text: crc32 of each run of [A-Za-z0-9_], lower-cased. */
static int ascii_word_ids(PyObject *text, Buffer *ids) {
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    ids->len = 0;
    if (buffer_reserve(ids, n / 2 + 1) < 0) return -1; /* at most one word in two characters */
    uint32_t crc = 0;
    int in_word = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = word_byte[s[i]];
        if (c) {
            if (!in_word) crc = 0xFFFFFFFFu, in_word = 1;
            crc = crc_table[(crc ^ c) & 0xFF] ^ (crc >> 8);
        } else if (in_word) {
            ids->data[ids->len++] = (uint64_t)(crc ^ 0xFFFFFFFFu);
            in_word = 0;
        }
    }
    if (in_word) ids->data[ids->len++] = (uint64_t)(crc ^ 0xFFFFFFFFu);
    return 0;
}

static int list_word_ids(PyObject *list, Buffer *ids) {
    Py_ssize_t n = PyList_GET_SIZE(list);
    ids->len = 0;
    if (buffer_reserve(ids, n + 1) < 0) return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long id = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(list, i));
        if (id == (unsigned long long)-1 && PyErr_Occurred()) return -1;
        ids->data[ids->len++] = (uint64_t)id;
    }
    return 0;
}

/* Sorts a[0..n) (scratch: n more values). Radix sort: no input makes it slower than linear. */
static void sort_u64(uint64_t *a, uint64_t *scratch, Py_ssize_t n) {
    if (n < 48) {
        for (Py_ssize_t i = 1; i < n; i++) {
            uint64_t x = a[i];
            Py_ssize_t j = i;
            for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    uint64_t *from = a, *to = scratch;
    for (int shift = 0; shift < 64; shift += 8) {
        Py_ssize_t count[257] = {0};
        for (Py_ssize_t i = 0; i < n; i++) count[((from[i] >> shift) & 0xFF) + 1]++;
        for (int k = 0; k < 256; k++) count[k + 1] += count[k];
        for (Py_ssize_t i = 0; i < n; i++) to[count[(from[i] >> shift) & 0xFF]++] = from[i];
        uint64_t *t = from;
        from = to;
        to = t;
    }
    /* eight passes: the sorted values are back in a */
}

/* Writes x in decimal at out; returns the end. */
static char *put_decimal(char *out, uint64_t x) {
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    while (n) *out++ = digits[--n];
    return out;
}

static inline void put_le64(unsigned char *out, uint64_t x) {
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(x >> (8 * i));
}

/* One item's (packed hashes, keys, packed signature or None); hashes and scratch are work space. */
static PyObject *print_of(const Buffer *ids, Buffer *hashes, Buffer *scratch, Py_ssize_t min_shingles) {
    Py_ssize_t n = ids->len >= SHINGLE_WORDS ? ids->len - (SHINGLE_WORDS - 1) : 0;
    if (buffer_reserve(hashes, n + 1) < 0 || buffer_reserve(scratch, n + 1) < 0) return NULL;
    const uint64_t *w = ids->data;
    uint64_t *h = hashes->data;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t x = ((w[i] * M1 + w[i + 1]) * M2 + w[i + 2]) * M3;
        h[i] = x ^ (x >> MIX_SHIFT);
    }
    sort_u64(h, scratch->data, n);
    Py_ssize_t unique = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (unique == 0 || h[i] != h[unique - 1]) h[unique++] = h[i];
    PyObject *packed = PyBytes_FromStringAndSize(NULL, unique * 8);
    if (packed == NULL) return NULL;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(packed);
    for (Py_ssize_t i = 0; i < unique; i++) put_le64(out + 8 * i, h[i]);
    if (unique < min_shingles || unique == 0) {
        PyObject *keys = PyTuple_New(0);
        if (keys == NULL) {
            Py_DECREF(packed);
            return NULL;
        }
        return Py_BuildValue("(NNO)", packed, keys, Py_None);
    }
    /* Sorted by hash is sorted by bin (the top bits), then value: a bin's minimum is its first hash. */
    uint64_t sig[BINS];
    int filled[BINS] = {0};
    for (Py_ssize_t i = 0; i < unique; i++) {
        int bin = (int)(h[i] >> BIN_SHIFT);
        if (!filled[bin]) sig[bin] = h[i] & VALUE_MASK, filled[bin] = 1;
    }
    uint64_t dense[BINS];
    for (int c = 0; c < BINS; c++) {
        if (filled[c]) {
            dense[c] = sig[c];
            continue;
        }
        for (int d = 1; d < BINS; d++) { /* the next non-empty bin, circularly, tagged with the distance */
            int j = (c + d) % BINS;
            if (filled[j]) {
                dense[c] = (sig[j] << TAG_SHIFT) | (uint64_t)d;
                break;
            }
        }
    }
    PyObject *minhash = PyBytes_FromStringAndSize(NULL, BINS * 8);
    PyObject *keys = PyTuple_New(BANDS);
    if (minhash == NULL || keys == NULL) {
        Py_DECREF(packed);
        Py_XDECREF(minhash);
        Py_XDECREF(keys);
        return NULL;
    }
    unsigned char *sig_out = (unsigned char *)PyBytes_AS_STRING(minhash);
    for (int c = 0; c < BINS; c++) put_le64(sig_out + 8 * c, dense[c]);
    for (int band = 0; band < BANDS; band++) {
        char text[64]; /* "band:first,second", as Python's b"%d:%d,%d" writes it */
        char *end = put_decimal(text, (uint64_t)band);
        *end++ = ':';
        end = put_decimal(end, dense[ROWS * band]);
        *end++ = ',';
        end = put_decimal(end, dense[ROWS * band + 1]);
        PyObject *key = PyLong_FromLongLong((long long)(int64_t)blake2b_8((const unsigned char *)text, (size_t)(end - text)));
        if (key == NULL) {
            Py_DECREF(packed);
            Py_DECREF(minhash);
            Py_DECREF(keys);
            return NULL;
        }
        PyTuple_SET_ITEM(keys, band, key);
    }
    return Py_BuildValue("(NNN)", packed, keys, minhash);
}

static PyObject *prints(PyObject *self, PyObject *args) {
    PyObject *items;
    Py_ssize_t min_shingles;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &items, &min_shingles)) return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    Buffer ids = {0}, hashes = {0}, scratch = {0};
    /* The list's size is read again and each item held while it is used: an allocation here can run a
       collection, and a collection's callbacks or finalizers could change the list. */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        Py_INCREF(item);
        int failed;
        if (PyUnicode_Check(item) && PyUnicode_READY(item) == 0 && PyUnicode_IS_ASCII(item)) {
            failed = ascii_word_ids(item, &ids);
        } else if (PyList_Check(item)) {
            failed = list_word_ids(item, &ids);
        } else if (PyErr_Occurred()) { /* PyUnicode_READY failed */
            failed = -1;
        } else {
            PyErr_SetString(PyExc_TypeError, "prints: an item is an ASCII str or a list of word ids");
            failed = -1;
        }
        Py_DECREF(item); /* its words are read: the rest works on the buffers */
        PyObject *print = failed ? NULL : print_of(&ids, &hashes, &scratch, min_shingles);
        if (print == NULL || PyList_Append(out, print) < 0) {
            Py_XDECREF(print);
            Py_CLEAR(out);
            break;
        }
        Py_DECREF(print);
    }
    PyMem_Free(ids.data);
    PyMem_Free(hashes.data);
    PyMem_Free(scratch.data);
    return out;
}

static PyMethodDef methods[] = {
    {"prints", prints, METH_VARARGS,
     "prints(items, min_shingles): (packed hashes, band keys, packed signature or None) of each text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_minhash", "Clustering fingerprints in C (optional).", -1, methods,
};

PyMODINIT_FUNC PyInit__minhash(void) {
    tables_init();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "SHINGLE_WORDS", SHINGLE_WORDS) < 0 || PyModule_AddIntConstant(m, "BINS", BINS) < 0 ||
        PyModule_AddIntConstant(m, "ROWS", ROWS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
