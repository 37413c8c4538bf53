/*
 * Creating and opening the store directory, with its permission checks.
 */
#include "config.h"

#include "store/store.h"
#include "store/blobs.h"
#include "store/catalog.h"
#include "store/tenants.h"
#include "store/vault.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A temporary blob file this old is a leftover of a killed process: no
 * single file takes a day to download. */
#define STALE_TMP_S (24 * 3600L)

char *store_default_home(void)
{
	const char *h = getenv("CHATVAULT_HOME");

	if (h && *h)
		return xstrdup(h);
	h = getenv("XDG_DATA_HOME");
	if (h && *h)
		return xasprintf("%s/chatvault", h);
	h = getenv("HOME");
	return xasprintf("%s/.local/share/chatvault", h && *h ? h : ".");
}

static struct store *store_alloc(const char *home)
{
	struct store *s = xcalloc(1, sizeof *s);

	/* Absolute, so the paths the store records (a download's zip) name
	 * the same files from any directory. */
	s->home = fs_absolute(home);
	home = s->home;
	s->catalog_path = fs_join(home, "catalog.db");
	s->key_path = fs_join(home, "key");
	s->blobs_dir = fs_join(home, "blobs");
	s->downloads_dir = fs_join(home, "downloads");
	return s;
}

int store_exists(const char *home)
{
	char *key = fs_join(home, "key");
	int r = fs_exists(key);

	free(key);
	return r;
}

/*
 * The key file must be this catalog's. A key file from another store that
 * the same passphrase opens would otherwise pass, and every record would
 * then fail its check as if the store were damaged. The catalog keeps a
 * value sealed with its key (setting "key_check"); a store made before it
 * gets one the first time a key opens its records (any key, while it holds
 * no tenant). Best effort on a catalog that cannot be written.
 */
#define KEY_CHECK_SETTING "key_check"
static const char key_check_text[] = "chatvault: this key belongs to this catalog";

static void key_check_save(struct store *s)
{
	struct buf sealed = BUF_INIT, b64 = BUF_INIT;

	vault_seal(s->vault, KEY_CHECK_SETTING, strlen(KEY_CHECK_SETTING), key_check_text, strlen(key_check_text),
		   &sealed);
	b64_encode(&b64, sealed.data, sealed.len);
	catalog_setting_set(s->db, KEY_CHECK_SETTING, buf_str(&b64), NULL);
	buf_free(&sealed);
	buf_free(&b64);
}

static int key_mismatch(const struct store *s, struct cv_err *e)
{
	return err_set(e, CV_EINTEGRITY,
		       _("the key file %s does not belong to this store's catalog (it opens with this passphrase, but "
			 "the catalog was sealed with another key): put back the key file that was made with this "
			 "catalog"),
		       s->key_path);
}

static int key_check(struct store *s, struct cv_err *e)
{
	char stored[512];
	struct buf sealed = BUF_INIT, plain = BUF_INIT;
	struct cv_err ignored;
	int64_t tenant;
	int rc = catalog_setting_get(s->db, KEY_CHECK_SETTING, stored, sizeof stored, &ignored);

	if (rc == 0) {
		int ours = b64_decode(&sealed, stored, strlen(stored)) == 0 &&
			   vault_unseal(s->vault, KEY_CHECK_SETTING, strlen(KEY_CHECK_SETTING), sealed.data, sealed.len,
					&plain, &ignored) == 0 &&
			   plain.len == strlen(key_check_text) && memcmp(plain.data, key_check_text, plain.len) == 0;

		buf_free(&sealed);
		buf_free(&plain);
		return ours ? 0 : key_mismatch(s, e);
	}
	if (rc != CV_ENOTFOUND)
		return 0; /* unreadable now: the next open checks */
	if (catalog_int_by_id(s->db, "SELECT coalesce(min(id), 0) FROM tenants", 0, &tenant, &ignored) == 0 &&
	    tenant > 0) {
		struct tenant_rec rec;

		memset(&rec, 0, sizeof rec);
		rc = tenant_load_id(s->db, s->vault, tenant, 1, &rec, &ignored);
		tenant_rec_free(&rec);
		if (rc == CV_EINTEGRITY)
			return key_mismatch(s, e);
	}
	key_check_save(s);
	return 0;
}

int store_init(const char *home, const char *pass, size_t passlen, char *recovery, struct store **out,
	       struct cv_err *e)
{
	struct store *s;
	int64_t tenants;
	int rc;

	*out = NULL;
	if (store_exists(home))
		return err_set(e, CV_EEXIST, _("a store already exists in %s; refusing to overwrite it"), home);
	if (fs_mkdir_p(home, 0700, e))
		return e->code;
	if (chmod(home, 0700) != 0)
		return err_set(e, CV_EIO, _("cannot set the mode of %s: %s"), home, strerror(errno));
	s = store_alloc(home);
	if ((rc = fs_mkdir_p(s->blobs_dir, 0700, e)) || (rc = fs_mkdir_p(s->downloads_dir, 0700, e)))
		goto fail;
	if ((rc = catalog_open(s->catalog_path, 1, &s->db, e)))
		goto fail;
	/* A catalog without its key is a store whose key file went missing,
	 * unless it holds nothing (an init cut short): a new key would leave
	 * every record in it unreadable. */
	if ((rc = catalog_int_by_id(s->db, "SELECT count(*) FROM tenants", 0, &tenants, e)))
		goto fail;
	if (tenants != 0) {
		rc = err_set(e, CV_EEXIST, _("%s holds a catalog with backups but no key file; refusing to make a new "
					     "key for it: restore the key file from a copy of the store"),
			     home);
		goto fail;
	}
	/* The key file is written last: its presence is what marks a store. */
	if ((rc = vault_create(s->key_path, pass, passlen, recovery, &s->vault, e)))
		goto fail;
	key_check_save(s);
	*out = s;
	return 0;
fail:
	store_close(&s);
	return rc;
}

int store_open(const char *home, const char *secret, size_t len, int recovery, struct store **out,
	       struct cv_err *e)
{
	struct store *s;
	int rc;

	*out = NULL;
	if (!store_exists(home)) {
		char *catalog = fs_join(home, "catalog.db");
		int orphan = fs_exists(catalog);

		free(catalog);
		if (orphan)
			return err_set(e, CV_EINTEGRITY,
				       _("the store in %s has its catalog but no key file; nothing in it can be read "
					 "without the key: restore the key file from a copy of the store"),
				       home);
		return err_set(e, CV_ENOTFOUND, _("no store in %s; create one with 'chatvault init'"), home);
	}
	if (fs_check_private(home, e))
		return e->code;
	s = store_alloc(home);
	if ((rc = fs_check_private(s->key_path, e)))
		goto fail;
	if (recovery)
		rc = vault_open_recovery(s->key_path, secret, &s->vault, e);
	else
		rc = vault_open(s->key_path, secret, len, &s->vault, e);
	if (rc)
		goto fail;
	if ((rc = fs_check_private(s->catalog_path, e)))
		goto fail;
	if ((rc = catalog_open(s->catalog_path, 0, &s->db, e)) || (rc = key_check(s, e)))
		goto fail;
	fs_mkdir_p(s->blobs_dir, 0700, NULL);
	fs_mkdir_p(s->downloads_dir, 0700, NULL);
	blob_sweep_tmp(s->blobs_dir, STALE_TMP_S);
	*out = s;
	return 0;
fail:
	store_close(&s);
	return rc;
}

int store_connect(const struct store *s, sqlite3 **out, struct cv_err *e)
{
	return catalog_open(s->catalog_path, 0, out, e);
}

void store_close(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	if (s->db)
		catalog_close(s->db);
	vault_free(&s->vault);
	free(s->home);
	free(s->catalog_path);
	free(s->key_path);
	free(s->blobs_dir);
	free(s->downloads_dir);
	free(s);
	*sp = NULL;
}

char *store_record_ad(const char *table, const char *a, const char *b, const char *c, const char *d,
		      size_t *len)
{
	struct buf ad = BUF_INIT;
	const char *parts[] = {a, b, c, d};
	size_t i;

	buf_append_str(&ad, table);
	for (i = 0; i < 4; i++) {
		if (parts[i] == NULL)
			break;
		buf_append_char(&ad, '\x1f');
		buf_append_str(&ad, parts[i]);
	}
	*len = ad.len;
	return buf_steal(&ad);
}
