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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

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

/* Add the regular files below rel (relative to the directory) to z. */
static int add_dir_to_zip(struct export_out *o, zip_t *z, const char *rel, struct cv_err *e)
{
	int fd = rel[0] ? openat(o->dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			: dup(o->dirfd);
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return err_set(e, CV_EIO, _("cannot read %s: %s"), o->path, strerror(errno));
	}
	rewinddir(d);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char *entry, *full;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strstr(de->d_name, ".part-"))
			continue;
		entry = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (fstatat(o->dirfd, entry, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			free(entry);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = add_dir_to_zip(o, z, entry, e);
		} else if (S_ISREG(st.st_mode)) {
			zip_source_t *src;

			full = xasprintf("%s/%s", o->path, entry);
			src = zip_source_file(z, full, 0, -1);
			if (src == NULL || zip_file_add(z, entry, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
				if (src)
					zip_source_free(src);
				rc = err_set(e, CV_EIO, _("cannot add %s to the zip: %s"), entry, zip_strerror(z));
			}
			free(full);
		}
		free(entry);
	}
	closedir(d);
	return rc;
}

int export_out_zip(struct export_out *o, const char *zip_path, struct cv_err *e)
{
	char *tmp = xasprintf("%s.part-%ld", zip_path, (long)getpid());
	int zerr = 0, rc;
	zip_t *z;
	mode_t old = umask(077);

	unlink(tmp);
	z = zip_open(tmp, ZIP_CREATE | ZIP_EXCL, &zerr);
	umask(old);
	if (z == NULL) {
		free(tmp);
		return err_set(e, CV_EIO, _("cannot create the zip %s"), zip_path);
	}
	rc = add_dir_to_zip(o, z, "", e);
	if (rc) {
		zip_discard(z);
		unlink(tmp);
		free(tmp);
		return rc;
	}
	if (zip_close(z) != 0) {
		rc = err_set(e, fs_errno_code(errno), _("cannot write the zip %s: %s"), zip_path, zip_strerror(z));
		zip_discard(z);
		unlink(tmp);
		free(tmp);
		return rc;
	}
	chmod(tmp, 0600);
	if (rename(tmp, zip_path) != 0) {
		rc = err_set(e, fs_errno_code(errno), _("cannot write the zip %s: %s"), zip_path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return rc;
	}
	free(tmp);
	return 0;
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
