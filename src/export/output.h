/*
 * Where an export writes: a directory opened once (never through a symlink),
 * files created inside it with O_EXCL|O_NOFOLLOW under a temporary name and
 * renamed into place when complete, and optionally one zip of the result.
 */
#ifndef CV_EXPORT_OUTPUT_H
#define CV_EXPORT_OUTPUT_H

#include <stdio.h>

struct cv_err;
struct export_out;

struct export_file {
	FILE *f;
	int dirfd;  /* the directory the file lives in, opened without following links */
	char *tmp;  /* temporary name within dirfd */
	char *name; /* final name within dirfd */
};

/* Open (creating, mode 0700) the directory path. The caller owns *out. */
int export_out_open(const char *path, struct export_out **out, struct cv_err *e);
const char *export_out_path(const struct export_out *o);
/* Open a file the export wrote, rel relative to the directory ("a/b"),
 * following no symlink on the way. Returns the descriptor, or -1. */
int export_out_open_read(const struct export_out *o, const char *rel);
/* Start a file called name (already a safe, unique name) in the directory.
 * subdir may name a subdirectory (created on demand) or be NULL. */
int export_file_begin(struct export_out *o, const char *subdir, const char *name, struct export_file *f,
		      struct cv_err *e);
/* Flush, sync and rename into place; on error the temporary file is removed. */
int export_file_end(struct export_out *o, struct export_file *f, struct cv_err *e);
void export_file_abort(struct export_out *o, struct export_file *f);
/* Zip every regular file under the directory into zip_path (atomically). */
int export_out_zip(struct export_out *o, const char *zip_path, struct cv_err *e);
/* Remove the directory and its files (for a temporary staging directory). */
void export_out_remove(struct export_out *o);
void export_out_free(struct export_out **o);

#endif
