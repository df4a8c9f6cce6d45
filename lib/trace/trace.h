/* trace.h - what cprof strace-lite knows of system calls before it traces
 * any: the classes of strace's -e trace=%CLASS (classes.c: the project's
 * own table, by name, for every architecture) and -e trace= expressions
 * turned into a set of this build's syscall numbers (filter.c).  Names
 * and numbers are lib/proc's (gen/syscalls.h, from the kernel headers). */
#ifndef CPROF_TRACE_H
#define CPROF_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"

enum cp_trace_class {
	CP_TC_FILE = 1 << 0,    /* %file: takes a file name */
	CP_TC_DESC = 1 << 1,    /* %desc: takes or returns a file descriptor */
	CP_TC_NETWORK = 1 << 2, /* %network: sockets */
	CP_TC_PROCESS = 1 << 3, /* %process: process life cycle */
	CP_TC_MEMORY = 1 << 4,  /* %memory: the address space */
	CP_TC_SIGNAL = 1 << 5,  /* %signal */
	CP_TC_IPC = 1 << 6,     /* %ipc: System V IPC */
	CP_TC_CREDS = 1 << 7,   /* %creds: user and group ids, capabilities */
	CP_TC_CLOCK = 1 << 8,   /* %clock: reading or setting clocks */
};

/* The classes of the syscall called name (0: none, or no such name). */
unsigned cp_trace_classes(const char *name);
/* The class called "%file" (with its %), 0 when there is none. */
unsigned cp_trace_class_by_name(const char *name);
/* "%file, %desc, ..." for messages. */
const char *cp_trace_class_names(void);

#define CP_TRACE_MAX_NR 1024

/* A set of syscall numbers of this architecture. */
struct cp_trace_set {
	uint64_t bits[CP_TRACE_MAX_NR / 64];
};

/* An -e trace= expression, strace's: a comma-separated list of syscall
 * names, %classes, /regular expressions (extended, matched against the
 * names), "all" or "none"; "?" before an item ignores it when it matches
 * nothing; "!" before the whole list takes its complement.  CP_E_USAGE
 * naming the item that is unknown or malformed; *set is filled. */
int cp_trace_set_parse(const char *expr, struct cp_trace_set *set, struct cp_error *err);
bool cp_trace_set_has(const struct cp_trace_set *set, long nr);
/* How many numbers the set holds. */
int cp_trace_set_count(const struct cp_trace_set *set);

#endif
