/* core.h - errors, logging, allocation, vectors, hash maps, string interning.
 *
 * Everything in lib/ depends on this header and nothing else in lib/ is
 * included from here.  Nothing in this module prints to stdout; diagnostics
 * go through cp_log(), whose sink the command layer installs.
 */
#ifndef CPROF_CORE_H
#define CPROF_CORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CP_VERSION "0.1.0"

#define CP_UNUSED __attribute__((unused))
#define CP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CP_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- errors ------------------------------------------------------------
 * Library functions return 0 or a negative CP_E_* / -errno code, and fill
 * the nullable struct cp_error with a human message (git style: lowercase,
 * no full stop, subject in quotes).  The message buffer is fixed, so there
 * is no ownership question. */
enum {
	CP_E_FAIL = -1000, /* generic failure, message says what */
	CP_E_USAGE,        /* caller passed a bad value */
	CP_E_FORMAT,       /* malformed input (offset in the message) */
	CP_E_TRUNCATED,    /* input ends early; what was before is good */
	CP_E_PERM,         /* permission (perf_event_paranoid, ptrace_scope) */
	CP_E_UNSUPPORTED,  /* feature not available on this system */
	CP_E_NOENT,        /* file or process does not exist */
	CP_E_IO,           /* read/write failure */
};

struct cp_error {
	int code;
	char msg[512];
};

/* Set err (if non-NULL) and return code, so callers can write
 * `return cp_error_set(err, CP_E_FORMAT, "bad thing at %zu", off);`. */
int cp_error_set(struct cp_error *err, int code, const char *fmt, ...) CP_PRINTF(3, 4);
/* Like cp_error_set, appending ": strerror(errnum)". Returns -errnum when
 * code is 0. */
int cp_error_errno(struct cp_error *err, int code, int errnum, const char *fmt, ...)
	CP_PRINTF(4, 5);

/* ---- logging -------------------------------------------------------------
 * The only process-wide state in lib: a sink and a verbosity level. */
enum cp_log_level { CP_LOG_ERROR, CP_LOG_WARN, CP_LOG_NOTICE, CP_LOG_INFO, CP_LOG_DEBUG };
typedef void (*cp_log_sink_fn)(enum cp_log_level level, const char *msg, void *arg);
void cp_log_set_sink(cp_log_sink_fn fn, void *arg);
void cp_log_set_level(enum cp_log_level max_level);
void cp_log(enum cp_log_level level, const char *fmt, ...) CP_PRINTF(2, 3);

/* ---- allocation: abort on out-of-memory (a crash, not an exit path) ---- */
void *cp_xmalloc(size_t n);
void *cp_xcalloc(size_t n, size_t size);
void *cp_xrealloc(void *p, size_t n);
char *cp_xstrdup(const char *s);
char *cp_xstrndup(const char *s, size_t n);
char *cp_xasprintf(const char *fmt, ...) CP_PRINTF(1, 2);
/* Grow *p (element size esz) so that it holds at least `need` elements;
 * *cap is updated.  Used by the CP_VEC macros. */
void cp_grow(void **p, size_t esz, size_t need, size_t *cap);

/* ---- vectors: struct { T *v; size_t n, cap; } ------------------------- */
#define CP_VEC(T)                                                                                  \
	struct {                                                                                   \
		T *v;                                                                              \
		size_t n, cap;                                                                     \
	}
#define CP_VEC_RESERVE(vec, need)                                                                  \
	do {                                                                                       \
		if ((need) > (vec).cap)                                                            \
			cp_grow((void **)&(vec).v, sizeof(*(vec).v), (need), &(vec).cap);          \
	} while (0)
#define CP_VEC_PUSH(vec, x)                                                                        \
	do {                                                                                       \
		CP_VEC_RESERVE(vec, (vec).n + 1);                                                  \
		(vec).v[(vec).n++] = (x);                                                          \
	} while (0)
#define CP_VEC_FREE(vec)                                                                           \
	do {                                                                                       \
		free((vec).v);                                                                     \
		(vec).v = NULL;                                                                    \
		(vec).n = (vec).cap = 0;                                                           \
	} while (0)

/* ---- growable byte buffer ------------------------------------------------ */
struct cp_buf {
	uint8_t *p;
	size_t len, cap;
};
void cp_buf_reserve(struct cp_buf *b, size_t extra);
void cp_buf_add(struct cp_buf *b, const void *data, size_t len);
void cp_buf_add_u8(struct cp_buf *b, uint8_t v);
void cp_buf_add_uvarint(struct cp_buf *b, uint64_t v);
void cp_buf_add_svarint(struct cp_buf *b, int64_t v);
void cp_buf_add_str(struct cp_buf *b, const char *s);
void cp_buf_add_i64(struct cp_buf *b, int64_t v);
/* printf onto the end of b. */
void cp_buf_printf(struct cp_buf *b, const char *fmt, ...) CP_PRINTF(2, 3);
/* s as a JSON string literal, quotes included; bytes that are not UTF-8
 * become U+FFFD, so the output is always valid JSON. */
void cp_buf_add_json_str(struct cp_buf *b, const char *s);
void cp_buf_release(struct cp_buf *b);

/* Bounded reader over a byte range; every get returns -1 (and sets bad)
 * instead of reading past the end. */
struct cp_rd {
	const uint8_t *p, *end;
	bool bad;
};
int cp_rd_u8(struct cp_rd *r, uint8_t *v);
int cp_rd_uvarint(struct cp_rd *r, uint64_t *v);
int cp_rd_svarint(struct cp_rd *r, int64_t *v);
/* A length-prefixed string: points into the input (not NUL-terminated). */
int cp_rd_str(struct cp_rd *r, const char **s, size_t *len);
int cp_rd_bytes(struct cp_rd *r, const uint8_t **p, size_t len);

/* ---- hash map: uint64 key -> uint64 value, open addressing ------------ */
struct cp_u64map {
	uint64_t *keys, *vals;
	uint8_t *used;
	size_t n, cap;
};
void cp_u64map_init(struct cp_u64map *m);
void cp_u64map_release(struct cp_u64map *m);
/* Returns a pointer to the value slot, or NULL when absent. Borrowed: valid
 * until the next insert. */
uint64_t *cp_u64map_find(const struct cp_u64map *m, uint64_t key);
/* Insert or overwrite. */
void cp_u64map_put(struct cp_u64map *m, uint64_t key, uint64_t val);
/* Returns the slot for key, inserting `def` when absent; *added says which. */
uint64_t *cp_u64map_upsert(struct cp_u64map *m, uint64_t key, uint64_t def, bool *added);
bool cp_u64map_del(struct cp_u64map *m, uint64_t key);

uint64_t cp_hash_bytes(const void *p, size_t n, uint64_t seed);
static inline uint64_t cp_hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* ---- byte-sequence interning: maps a byte string to a dense id -------- *
 * Used for strings (ids index a table of NUL-terminated copies) and for
 * stacks (arrays of uint32 location ids).  Ids start at 0 and are dense. */
struct cp_intern {
	char **items;     /* copies, each NUL-terminated */
	uint32_t *lens;   /* byte length of each item */
	size_t n, cap;
	uint32_t *slots;  /* hash table of id+1, 0 = empty */
	size_t nslots;
};
void cp_intern_init(struct cp_intern *t);
void cp_intern_release(struct cp_intern *t);
/* Returns the id of the bytes, adding a copy when new; *added (nullable). */
uint32_t cp_intern_add(struct cp_intern *t, const void *p, size_t len, bool *added);
static inline const char *cp_intern_get(const struct cp_intern *t, uint32_t id)
{
	return t->items[id];
}

/* ---- misc helpers ------------------------------------------------------ */
uint64_t cp_now_ns(void);       /* CLOCK_MONOTONIC */
uint64_t cp_realtime_ns(void);  /* CLOCK_REALTIME */
/* A condition variable whose timed waits count on CLOCK_MONOTONIC, and a
 * wait on it until deadline_ns (as cp_now_ns): false once that has passed. */
void cp_cond_init(pthread_cond_t *c);
bool cp_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns);
/* Parse a decimal integer in [min,max]; 0 or -1. */
int cp_parse_long(const char *s, long min, long max, long *out);
/* Parse a duration: a number (decimals allowed) with an optional unit,
 * ns, us, ms, s (the default), m, h or d ("60s", "1.5m", "500ms") into
 * nanoseconds; 0 or -1. */
int cp_parse_duration(const char *s, uint64_t *ns);
/* cprof's cache directory (malloc'ed): $CPROF_CACHE_DIR (empty: none, NULL
 * is returned), else $XDG_CACHE_HOME/cprof, else $HOME/.cache/cprof. */
char *cp_cache_dir(void);
/* mkdir -p (mode 0755): 0, or -1 with errno set; the failing prefix is
 * the caller's to name. */
int cp_mkdir_p(const char *dir);
/* Read a whole (small) file such as /proc/... into a NUL-terminated buffer
 * the caller frees; NULL with errno set on failure. */
char *cp_read_file(const char *path, size_t *len);
/* All of len bytes to fd (EINTR and short writes retried): 0, or -1 with
 * errno. */
int cp_write_all(int fd, const void *data, size_t len);
/* path replaced whole: written to path.tmp (mode 0600), fsynced, renamed
 * over path; 0, or -1 with errno (path.tmp removed, path untouched). */
int cp_write_file_atomic(const char *path, const void *data, size_t len);
/* The same from an open descriptor (a pipe, stdin), read to EOF; the fd
 * is not closed. */
char *cp_read_fd(int fd, size_t *len);
/* Read a sysctl-style integer file; returns def on failure. */
long cp_read_long_file(const char *path, long def);
/* Last path component (pointer into s). */
const char *cp_basename(const char *s);
/* Decode the UTF-8 character at s (NUL-terminated): returns its length
 * and its code point in *cp; for bytes that are not valid UTF-8 (bad lead
 * byte, overlong form, surrogate, above U+10FFFF, cut short) returns the
 * length of their longest valid-looking prefix (at least 1, as Unicode's
 * "maximal subpart", which one U+FFFD replaces) with *cp -1. */
size_t cp_utf8_next(const unsigned char *s, int32_t *cp);
/* SHA-256 of data as 64 lowercase hex digits and a NUL (GnuTLS). */
void cp_sha256_hex(const void *data, size_t len, char out[65]);
/* nbytes random bytes from the kernel (getrandom) as 2 * nbytes lowercase
 * hex digits and a NUL. */
void cp_random_hex(char *out, size_t nbytes);
/* Whether stderr is a terminal and progress lines may be drawn. */
bool cp_stderr_is_tty(void);

#endif
