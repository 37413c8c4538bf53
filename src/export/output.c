/*
 * Export output. Every path is resolved relative to a directory descriptor
 * with O_NOFOLLOW, so a symlink planted in the output directory cannot
 * redirect a write outside it.
 */
#include "config.h"

#include "export/output.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct export_out {
	char *path;
	int dirfd;
	unsigned seq;
};

int export_out_open(const char *path, struct export_out **out, struct cv_err *e)
{
	struct export_out *o;
	int fd;

	*out = NULL;
	if (fs_mkdir_p(path, 0700, e))
		return e->code;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, CV_EIO, _("cannot open the output directory %s: %s"), path, strerror(errno));
	o = xcalloc(1, sizeof *o);
	o->path = xstrdup(path);
	o->dirfd = fd;
	*out = o;
	return 0;
}

int export_out_open_read(const struct export_out *o, const char *rel)
{
	char *copy = xstrdup(rel), *part = copy, *slash;
	int dir = dup(o->dirfd), fd = -1;

	while (dir >= 0 && (slash = strchr(part, '/')) != NULL) {
		int sub;

		*slash = '\0';
		sub = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dir);
		dir = sub;
		part = slash + 1;
	}
	if (dir >= 0) {
		fd = openat(dir, part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		close(dir);
	}
	free(copy);
	return fd;
}

const char *export_out_path(const struct export_out *o)
{
	return o->path;
}

int export_file_begin(struct export_out *o, const char *subdir, const char *name, struct export_file *f,
		      struct cv_err *e)
{
	int fd, saved;

	memset(f, 0, sizeof *f);
	f->dirfd = -1;
	if (subdir) {
		/* A symlink planted where the subdirectory goes must not lead the
		 * write outside: open it with O_NOFOLLOW and work relative to it. */
		if (mkdirat(o->dirfd, subdir, 0700) != 0 && errno != EEXIST)
			return err_set(e, fs_errno_code(errno), _("cannot create %s/%s: %s"), o->path, subdir,
				       strerror(errno));
		f->dirfd = openat(o->dirfd, subdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (f->dirfd < 0)
			return err_set(e, CV_EIO, _("%s/%s is not a plain directory; refusing to write through it"),
				       o->path, subdir);
	} else {
		f->dirfd = dup(o->dirfd);
		if (f->dirfd < 0)
			return err_set(e, CV_EIO, _("cannot use %s: %s"), o->path, strerror(errno));
	}
	f->name = xstrdup(name);
	f->tmp = xasprintf(".part-%ld-%u", (long)getpid(), o->seq++);
	fd = openat(f->dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || (f->f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		close(f->dirfd);
		free(f->tmp);
		free(f->name);
		memset(f, 0, sizeof *f);
		return err_set(e, fs_errno_code(saved), _("cannot create a file in %s: %s"), o->path, strerror(saved));
	}
	return 0;
}

void export_file_abort(struct export_out *o, struct export_file *f)
{
	(void)o;
	if (f->f)
		fclose(f->f);
	if (f->tmp && f->dirfd >= 0)
		unlinkat(f->dirfd, f->tmp, 0);
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->tmp);
	free(f->name);
	memset(f, 0, sizeof *f);
}

int export_file_end(struct export_out *o, struct export_file *f, struct cv_err *e)
{
	int bad = ferror(f->f) || fflush(f->f) != 0 || fsync(fileno(f->f)) != 0;
	int saved = errno;

	if (fclose(f->f) != 0 && !bad) {
		bad = 1;
		saved = errno;
	}
	f->f = NULL;
	/* The name was made unique within this export; an existing file of
	 * that name in a reused directory is replaced, never followed. */
	if (!bad && renameat(f->dirfd, f->tmp, f->dirfd, f->name) != 0) {
		bad = 1;
		saved = errno;
	}
	if (bad) {
		int rc = err_set(e, fs_errno_code(saved), _("cannot write %s/%s: %s"), o->path, f->name,
				 strerror(saved));

		export_file_abort(o, f);
		return rc;
	}
	close(f->dirfd);
	free(f->tmp);
	free(f->name);
	memset(f, 0, sizeof *f);
	return 0;
}

/*
 * The zip is written as a stream (libarchive): one entry after another, each
 * copied through a fixed buffer, so memory does not grow with the size of the
 * files. What does grow is the central directory, which a zip keeps until its
 * end: about a hundred bytes per entry.
 */
struct zip_writer {
	struct archive *a;
	struct archive_entry *entry;
	const char *dir; /* for messages */
	char buf[64 * 1024];
};

static int zip_failed(struct zip_writer *zw, const char *what, struct cv_err *e)
{
	int errnum = archive_errno(zw->a);

	return err_set(e, errnum > 0 ? fs_errno_code(errnum) : CV_EIO, _("cannot add %s/%s to the zip: %s"),
		       zw->dir, what, archive_error_string(zw->a) ? archive_error_string(zw->a) : strerror(errnum));
}

static int zip_add_file(struct zip_writer *zw, int dirfd, const char *name, const char *entry,
			struct cv_err *e)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	int rc = 0;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int saved = errno;

		if (fd >= 0)
			close(fd);
		return err_set(e, CV_EIO, _("cannot read %s/%s: %s"), zw->dir, entry, strerror(saved));
	}
	archive_entry_clear(zw->entry);
	archive_entry_set_pathname_utf8(zw->entry, entry);
	archive_entry_set_filetype(zw->entry, AE_IFREG);
	archive_entry_set_perm(zw->entry, 0600);
	archive_entry_set_size(zw->entry, st.st_size);
	archive_entry_set_mtime(zw->entry, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (archive_write_header(zw->a, zw->entry) != ARCHIVE_OK)
		rc = zip_failed(zw, entry, e);
	while (rc == 0 && (n = read(fd, zw->buf, sizeof zw->buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(e, CV_EIO, _("cannot read %s/%s: %s"), zw->dir, entry, strerror(errno));
		} else if (archive_write_data(zw->a, zw->buf, (size_t)n) != n) {
			rc = zip_failed(zw, entry, e);
		}
	}
	close(fd);
	if (rc == 0 && archive_write_finish_entry(zw->a) != ARCHIVE_OK)
		rc = zip_failed(zw, entry, e);
	return rc;
}

/* Add the regular files below dirfd, named rel/... in the zip. The files
 * being written (named ".part-…" by export_file_begin) are left out; an
 * attachment may well be called "x.part-1.rar". */
static int zip_add_dir(struct zip_writer *zw, int dirfd, const char *rel, struct cv_err *e)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return err_set(e, CV_EIO, _("cannot read %s: %s"), zw->dir, strerror(errno));
	}
	rewinddir(d);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char *entry;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strncmp(de->d_name, ".part-", 6) == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		entry = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				rc = err_set(e, CV_EIO, _("cannot read %s/%s: %s"), zw->dir, entry, strerror(errno));
			} else {
				rc = zip_add_dir(zw, sub, entry, e);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = zip_add_file(zw, dirfd, de->d_name, entry, e);
		}
		free(entry);
	}
	closedir(d);
	return rc;
}

int export_out_zip(struct export_out *o, const char *zip_path, struct cv_err *e)
{
	char *tmp = xasprintf("%s.part-%ld", zip_path, (long)getpid());
	struct zip_writer *zw = xcalloc(1, sizeof *zw);
	int fd, rc = 0;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(e, fs_errno_code(errno), _("cannot create the zip %s: %s"), zip_path, strerror(errno));
		goto out;
	}
	zw->dir = o->path;
	zw->a = archive_write_new();
	zw->entry = archive_entry_new();
	if (archive_write_set_format_zip(zw->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(zw->a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(zw->a, fd) != ARCHIVE_OK)
		rc = err_set(e, CV_EIO, _("cannot create the zip %s: %s"), zip_path, archive_error_string(zw->a));
	if (rc == 0)
		rc = zip_add_dir(zw, o->dirfd, "", e);
	if (rc == 0 && archive_write_close(zw->a) != ARCHIVE_OK)
		rc = zip_failed(zw, _("the zip's directory"), e);
	archive_entry_free(zw->entry);
	archive_write_free(zw->a);
	if (rc == 0 && fsync(fd) != 0)
		rc = err_set(e, fs_errno_code(errno), _("cannot write the zip %s: %s"), zip_path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = err_set(e, fs_errno_code(errno), _("cannot write the zip %s: %s"), zip_path, strerror(errno));
	if (rc == 0 && rename(tmp, zip_path) != 0)
		rc = err_set(e, fs_errno_code(errno), _("cannot write the zip %s: %s"), zip_path, strerror(errno));
	if (rc)
		unlink(tmp);
out:
	free(zw);
	free(tmp);
	return rc;
}

static void remove_tree(int dirfd)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				remove_tree(sub);
				close(sub);
			}
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, de->d_name, 0);
		}
	}
	closedir(d);
}

void export_out_remove(struct export_out *o)
{
	remove_tree(o->dirfd);
	rmdir(o->path);
}

void export_out_free(struct export_out **op)
{
	struct export_out *o = *op;

	if (o == NULL)
		return;
	close(o->dirfd);
	free(o->path);
	free(o);
	*op = NULL;
}
