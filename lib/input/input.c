/* input.c - read a profile of any supported format, detected from its
 * first bytes.
 *
 * cprof recordings are handed to the data reader by name, so large
 * recordings stream chunk by chunk; the other formats are parsed from
 * one buffer: a read-only mapping of the file when it is a regular file,
 * else (pipes, standard input) everything read into memory.  Detection
 * order: the data file's magic, then cp_format_detect (gzip / protobuf,
 * perf script, folded).
 */
#include "input/input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data.h"

/* The input's bytes: mapped (map_len != 0) or malloc'ed. */
struct input_buf {
	const char *p;
	size_t len;
	void *map;
	size_t map_len;
	char *heap;
};

static void buf_release(struct input_buf *b)
{
	if (b->map)
		munmap(b->map, b->map_len);
	free(b->heap);
	memset(b, 0, sizeof(*b));
}

static int load(const char *path, const char *name, struct input_buf *b, struct cp_error *err)
{
	memset(b, 0, sizeof(*b));
	bool std = !strcmp(path, "-");
	int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cp_error_errno(err, errno == ENOENT ? CP_E_NOENT : CP_E_IO, errno,
				      "cannot open '%s'", name);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!std)
			close(fd);
		return cp_error_set(err, CP_E_IO, "cannot read '%s': it is a directory", name);
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
			b->map = m;
			b->map_len = (size_t)st.st_size;
			b->p = m;
			b->len = (size_t)st.st_size;
			if (!std)
				close(fd);
			return 0;
		}
	}
	size_t len = 0;
	char *data = cp_read_fd(fd, &len);
	int e = errno;
	if (!std)
		close(fd);
	if (!data)
		return cp_error_errno(err, CP_E_IO, e, "cannot read '%s'", name);
	b->heap = data;
	b->p = data;
	b->len = len;
	return 0;
}

static int read_as(enum cp_input_format f, const struct input_buf *b, const char *name, struct cp_profile **out, struct cp_error *err)
{
	switch (f) {
	case CP_INPUT_CPROF:
		return cp_data_read_mem(b->p, b->len, name, out, err);
	case CP_INPUT_PPROF:
		return cp_format_pprof_read(b->p, b->len, name, out, err);
	case CP_INPUT_PERFSCRIPT:
		return cp_format_perfscript_read(b->p, b->len, name, out, err);
	case CP_INPUT_FOLDED:
		return cp_format_folded_read(b->p, b->len, name, out, err);
	case CP_INPUT_UNKNOWN:
		break;
	}
	return cp_error_set(err, CP_E_USAGE, "no reader for this input format");
}

/* The format of b: from, or detected; CP_INPUT_UNKNOWN after setting err. */
static enum cp_input_format pick(const struct input_buf *b, enum cp_input_format from,
				 const char *name, struct cp_error *err)
{
	if (from != CP_INPUT_UNKNOWN)
		return from;
	if (!b->len) {
		cp_error_set(err, CP_E_FORMAT, "'%s' is empty: no profile to read", name);
		return CP_INPUT_UNKNOWN;
	}
	enum cp_input_format f = cp_data_sniff(b->p, b->len) ? CP_INPUT_CPROF :
							      cp_format_detect(b->p, b->len);
	if (f == CP_INPUT_UNKNOWN)
		cp_error_set(err, CP_E_FORMAT,
			     "cannot tell the format of '%s': not a cprof recording, pprof profile, "
			     "perf script output or folded stacks (use --from to name it)",
			     name);
	return f;
}

int cp_input_read_mem(const void *data, size_t len, const char *name, enum cp_input_format from,
		      struct cp_profile **out, struct cp_input_info *info, struct cp_error *err)
{
	*out = NULL;
	struct input_buf b = { .p = (char *)data, .len = len };
	enum cp_input_format f = pick(&b, from, name, err);
	if (f == CP_INPUT_UNKNOWN)
		return CP_E_FORMAT;
	if (info) {
		info->format = f;
		info->bytes = len;
	}
	return read_as(f, &b, name, out, err);
}

int cp_input_read(const char *path, enum cp_input_format from, struct cp_profile **out,
		  struct cp_input_info *info, struct cp_error *err)
{
	*out = NULL;
	const char *name = strcmp(path, "-") ? path : "standard input";
	struct input_buf b;
	int rc = load(path, name, &b, err);
	if (rc < 0)
		return rc;
	enum cp_input_format f = pick(&b, from, name, err);
	if (f == CP_INPUT_UNKNOWN) {
		buf_release(&b);
		return CP_E_FORMAT;
	}
	if (info) {
		info->format = f;
		info->bytes = b.len;
	}
	if (f == CP_INPUT_CPROF && b.map && strcmp(path, "-")) {
		/* the data reader reads the file itself, in chunks */
		buf_release(&b);
		return cp_data_read(path, out, err);
	}
	rc = read_as(f, &b, name, out, err);
	buf_release(&b);
	return rc;
}
