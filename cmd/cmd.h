/* cmd.h - the subcommand table's types and every cmd_<name>() prototype.
 *
 * Adding a subcommand (the checklist, as in git's builtin.h):
 *  1. cmd/<name>.c with `int cmd_<name>(int argc, char **argv)` returning an
 *     exit code (0 ok, 1 failure, 2 usage), its own static cp_option table,
 *     and no algorithms: the work is done by lib/.
 *  2. A row in commands[] in cmd/cprof.c.
 *  3. man/cprof-<name>.1 (mdoc) listing every option, EXIT STATUS, EXAMPLES.
 *  4. tests/e2e/NNNN-<name>-*.sh cases.
 *  5. tests/tools/check-docs.sh passes (options vs man page vs completions);
 *     completions need no edit: they ask `cprof <name> --list-opts`.
 */
#ifndef CPROF_CMD_H
#define CPROF_CMD_H

#include "opt.h"

struct cmd_desc {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_record(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_heap(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_strace_lite(int argc, char **argv);

/* Print "cprof <cmd>: error: <msg>" on stderr (the cmd-layer error style). */
void cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmd_warning(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmd_notice(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Install the log sink that prefixes lib messages with "cprof <cmd>: ". */
void cmd_set_log_prefix(const char *cmd);

#endif
