/* Shared by the matcher's native extension (monitor/match/_native.c and the files it names). */
#ifndef MONITOR_MATCH_NATIVE_H
#define MONITOR_MATCH_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* FNV-1a over bytes, then a final mix (the slot of a table is its low bits, the tag its high bits). */
static inline uint64_t step(uint64_t h, unsigned char c) { return (h ^ c) * 0x100000001b3ULL; }
#define HASH_SEED 0xcbf29ce484222325ULL

static inline uint64_t finish(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

extern PyTypeObject monitor_native_MemoType;   /* _native_memo.c */
extern PyTypeObject monitor_native_FolderType; /* _native_fold.c */
void monitor_native_fold_init(void);

#endif
