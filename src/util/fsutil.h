/*
 * File helpers with the store's safety rules built in: private modes (0700
 * directories, 0600 files), durable atomic replacement (temp + fsync + rename
 * + fsync of the directory), bounded reads, and refusing paths that others
 * can read or that are symlinks.
 */
#ifndef CV_UTIL_FSUTIL_H
#define CV_UTIL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

struct buf;
struct cv_err;

/* Create dir and missing parents with mode (existing ones are left alone). */
int fs_mkdir_p(const char *path, mode_t mode, struct cv_err *e);
/* Write data to path atomically and durably with the given mode. */
int fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode, struct cv_err *e);
/* Copy src to dst (temp file + fsync + rename) in fixed-size chunks. */
int fs_copy_file(const char *src, const char *dst, mode_t mode, struct cv_err *e);
/* Read a whole file of at most max bytes into out. */
int fs_read_file(const char *path, size_t max, struct buf *out, struct cv_err *e);
/* The same from an open descriptor; messages call it name. */
int fs_read_fd(int fd, const char *name, size_t max, struct buf *out, struct cv_err *e);
/* Refuse a path that is a symlink, not owned by us, or readable/writable by
 * group or others. */
int fs_check_private(const char *path, struct cv_err *e);
int fs_exists(const char *path);
/* Before work whose result is then written to path: refuse, with a message
 * naming it, a path that names a directory (or ends in '/') or whose
 * directory is missing or cannot be written. */
int fs_check_writable_file(const char *path, struct cv_err *e);
/* Join dir and name with one '/'; the caller owns the result. */
char *fs_join(const char *dir, const char *name);
/* path made absolute against the current directory (not resolved: it need
 * not exist yet); the caller owns the result. */
char *fs_absolute(const char *path);
/* write() all n bytes, retrying short writes and EINTR: 0, or -1 with errno. */
int fs_write_all(int fd, const void *data, size_t n);
/* read() until n bytes or end of file: the count read, or -1 with errno. */
ssize_t fs_read_full(int fd, void *data, size_t n);
/* fsync the directory holding path, so a rename into it is durable. */
int fs_sync_parent(const char *path);
/* Map errno from a failed write to CV_ENOSPC or CV_EIO. */
int fs_errno_code(int err);

#endif
