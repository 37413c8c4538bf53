/*
 * The blob store: hosted images and files, encrypted and content-addressed.
 *
 * A blob is written as a stream of chunks (BLOB_CHUNK bytes of plaintext
 * each), so a file of any size passes through a fixed amount of memory. Each
 * chunk is sealed with AES-256-GCM; its associated data is the blob file's
 * random id, the chunk's index and a last-chunk flag, so chunks cannot be
 * reordered, dropped, cut off at the end or moved to another blob. The blob's
 * name is the keyed hash (vault_blob_name) of the whole plaintext: identical
 * content is stored once, and a reader recomputes the name to prove the file
 * is the one asked for.
 *
 * Layout: blobs/ab/abcdef…(64 hex), written as blobs/tmp/… and renamed into
 * place after fsync. A file that is already there is kept and the new copy
 * dropped (deduplication), once the kept one has been read and checked in
 * full: a copy damaged on disk is replaced by the new one.
 */
#ifndef CV_STORE_BLOBS_H
#define CV_STORE_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "store/vault.h"

struct cv_err;

#define BLOB_CHUNK (1u << 20)

struct blob_writer;

/* Start a blob under dir (the store's blobs/). The caller commits or aborts. */
int blob_writer_new(const char *dir, const struct vault *v, struct blob_writer **out, struct cv_err *e);
/* Add plaintext; at most one chunk is held in memory. */
int blob_write(struct blob_writer *w, const void *p, size_t n, struct cv_err *e);
/* Seal the last chunk, make the file durable and move it to its name
 * (name: VAULT_BLOB_NAME_LEN + 1 bytes). Frees the writer either way. */
int blob_commit(struct blob_writer **w, char *name, uint64_t *size, struct cv_err *e);
/* Drop an unfinished blob and its temporary file. */
void blob_abort(struct blob_writer **w);

/* Stream a blob's plaintext to sink, chunk by chunk, checking every chunk and
 * finally the name. A file that is not there (ENOENT: a store copied
 * without its blobs/) gives CV_ENOTFOUND; a changed or truncated one, or
 * one that cannot be opened, CV_EINTEGRITY; a sink returning non-zero
 * stops with that code. */
int blob_read(const char *dir, const struct vault *v, const char *name,
	      int (*sink)(void *ctx, const void *p, size_t n), void *ctx, struct cv_err *e);

/* Delete a blob's file (a valid name only). */
void blob_remove(const char *dir, const char *name);

/* Remove temporary blob files older than max_age_s: what a killed process
 * left behind. Younger ones may belong to another process still writing. */
void blob_sweep_tmp(const char *dir, long max_age_s);

#endif
