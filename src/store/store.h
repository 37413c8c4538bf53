/*
 * The store directory: catalog.db (sqlite), key (the wrapped master key),
 * blobs/ and downloads/. Directories are 0700 and files 0600; a store that
 * others can read is refused. struct store holds the unlocked vault and the
 * opening thread's catalog connection; other threads call store_connect()
 * for their own connection.
 */
#ifndef CV_STORE_STORE_H
#define CV_STORE_STORE_H

#include <sqlite3.h>
#include <stddef.h>

struct cv_err;
struct vault;

struct store {
	char *home;
	char *catalog_path;
	char *key_path;
	char *blobs_dir;
	char *downloads_dir;
	struct vault *vault;
	sqlite3 *db;
};

/* $CHATVAULT_HOME, else $XDG_DATA_HOME/chatvault, else ~/.local/share/chatvault.
 * The caller owns the result. */
char *store_default_home(void);

/* Create a new store in home (refusing an existing one). The printable
 * recovery key is written to recovery (VAULT_RECOVERY_MAX bytes). */
int store_init(const char *home, const char *pass, size_t passlen, char *recovery, struct store **out,
	       struct cv_err *e);
/* Open an existing store with the passphrase, or with the recovery key when
 * recovery is non-zero. */
int store_open(const char *home, const char *secret, size_t len, int recovery, struct store **out,
	       struct cv_err *e);
int store_exists(const char *home);
/* A further catalog connection for another thread; the caller closes it. */
int store_connect(const struct store *s, sqlite3 **out, struct cv_err *e);
void store_close(struct store **s);

/* Associated data naming a record, so a sealed value cannot be moved to
 * another row: fields joined by the unit separator. The caller frees it. */
char *store_record_ad(const char *table, const char *a, const char *b, const char *c, const char *d,
		      size_t *len);

#endif
