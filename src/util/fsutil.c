/* Private, durable file operations. */
#include "config.h"

#include "util/fsutil.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_errno_code(int err)
{
	return err == ENOSPC || err == EDQUOT ? CV_ENOSPC : CV_EIO;
}

char *fs_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);

	if (dl > 0 && dir[dl - 1] == '/')
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

char *fs_absolute(const char *path)
{
	char *cwd, *out;

	if (path[0] == '/' || (cwd = getcwd(NULL, 0)) == NULL)
		return xstrdup(path);
	out = strcmp(path, ".") == 0 ? xstrdup(cwd) : fs_join(cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
	free(cwd);
	return out;
}

int fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int fs_check_writable_file(const char *path, struct cv_err *e)
{
	size_t n = strlen(path);
	struct stat st;
	char *copy, *dir;
	int rc = 0;

	if (n == 0 || path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return err_set(e, CV_EINVAL, _("%s names a directory; give the path of the file to write"), path);
	copy = xstrdup(path);
	dir = dirname(copy);
	if (stat(dir, &st) != 0)
		rc = err_set(e, errno == ENOENT ? CV_ENOTFOUND : CV_EIO, _("cannot write %s: %s: %s"), path, dir,
			     strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = err_set(e, CV_EINVAL, _("cannot write %s: %s is not a directory"), path, dir);
	else if (access(dir, W_OK | X_OK) != 0)
		rc = err_set(e, errno == EACCES ? CV_EPERMS : CV_EIO, _("cannot write %s: %s: %s"), path, dir,
			     strerror(errno));
	free(copy);
	return rc;
}

int fs_mkdir_p(const char *path, mode_t mode, struct cv_err *e)
{
	char *tmp = xstrdup(path);
	char *p;
	int rc = 0;

	for (p = tmp + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
				rc = err_set(e, fs_errno_code(errno), _("cannot create directory %s: %s"), tmp,
					     strerror(errno));
				break;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	free(tmp);
	return rc;
}

int fs_write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t fs_read_full(int fd, void *data, size_t n)
{
	char *p = data;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int fs_sync_parent(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode, struct cv_err *e)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	const char *p = data;
	int fd, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		goto fail;
	if (fs_write_all(fd, p, n) != 0)
		goto fail_close;
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0)
		goto fail_close;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	fs_sync_parent(path);
	free(tmp);
	return 0;

fail_close:
	saved = errno;
	close(fd);
	errno = saved;
fail:
	saved = errno;
	unlink(tmp);
	free(tmp);
	return err_set(e, fs_errno_code(saved), _("cannot write %s: %s"), path, strerror(saved));
}

int fs_copy_file(const char *src, const char *dst, mode_t mode, struct cv_err *e)
{
	char *tmp = xasprintf("%s.tmp.%ld", dst, (long)getpid());
	char chunk[1 << 16];
	int in, out = -1, saved = 0;
	const char *failed = dst;
	ssize_t r;

	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0) {
		saved = errno;
		failed = src;
		goto fail;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (out < 0)
		goto fail_errno;
	/* Streamed in chunks: a download can be larger than memory. */
	while ((r = read(in, chunk, sizeof chunk)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			failed = src;
			goto fail;
		}
		if (fs_write_all(out, chunk, (size_t)r) != 0)
			goto fail_errno;
	}
	if (fchmod(out, mode) != 0 || fsync(out) != 0)
		goto fail_errno;
	if (close(out) != 0) {
		out = -1;
		goto fail_errno;
	}
	out = -1;
	if (rename(tmp, dst) != 0)
		goto fail_errno;
	close(in);
	fs_sync_parent(dst);
	free(tmp);
	return 0;

fail_errno:
	saved = errno;
fail:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	unlink(tmp);
	free(tmp);
	return err_set(e, fs_errno_code(saved), _("cannot copy to %s: %s (%s)"), dst, strerror(saved), failed);
}

int fs_read_fd(int fd, const char *name, size_t max, struct buf *out, struct cv_err *e)
{
	char chunk[8192];

	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(e, CV_EIO, _("cannot read %s: %s"), name, strerror(errno));
		if (r == 0)
			return 0;
		if (out->len + (size_t)r > max)
			return err_set(e, CV_ETOOBIG, _("%s is larger than %zu bytes"), name, max);
		buf_append(out, chunk, (size_t)r);
	}
}

int fs_read_file(const char *path, size_t max, struct buf *out, struct cv_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_set(e, errno == ENOENT ? CV_ENOTFOUND : CV_EIO, _("cannot open %s: %s"), path,
			       strerror(errno));
	rc = fs_read_fd(fd, path, max, out, e);
	close(fd);
	return rc;
}

int fs_check_private(const char *path, struct cv_err *e)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return err_set(e, errno == ENOENT ? CV_ENOTFOUND : CV_EIO, _("cannot access %s: %s"), path,
			       strerror(errno));
	if (S_ISLNK(st.st_mode))
		return err_set(e, CV_EPERMS, _("%s is a symbolic link; refusing to use it"), path);
	if (st.st_uid != geteuid())
		return err_set(e, CV_EPERMS, _("%s is owned by another user; refusing to use it"), path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return err_set(e, CV_EPERMS,
			       _("%s is accessible by group or others (mode %04o); run chmod %s on it"), path,
			       (unsigned)(st.st_mode & 07777), S_ISDIR(st.st_mode) ? "700" : "600");
	return 0;
}
