/*
 * Error reporting shared by every module: functions that can fail return 0 or
 * a negative CV_E* code, and fill a caller-provided struct cv_err with a
 * message written for the person who will read it (what failed, on what, and
 * what to do). Messages never contain secrets.
 */
#ifndef CV_UTIL_ERR_H
#define CV_UTIL_ERR_H

enum cv_errcode {
	CV_OK = 0,
	CV_EFAIL = -1,      /* anything not listed below */
	CV_EINVAL = -2,     /* bad argument or input from the user */
	CV_EIO = -3,        /* file system or database I/O */
	CV_ENOSPC = -4,     /* disk full */
	CV_ENOTFOUND = -5,  /* no such store, tenant, account, chat... */
	CV_EEXIST = -6,     /* already exists */
	CV_EPASS = -7,      /* wrong passphrase or damaged key file */
	CV_EINTEGRITY = -8, /* a stored record failed authentication */
	CV_EPERMS = -9,     /* unsafe file permissions */
	CV_EAUTH = -10,     /* Microsoft identity platform refused the credential */
	CV_EFORBIDDEN = -11,/* Graph: a permission is missing (403) */
	CV_ENET = -12,      /* network unreachable, DNS, connection reset, timeout */
	CV_ETLS = -13,      /* TLS handshake or certificate verification */
	CV_ETHROTTLED = -14,/* still throttled after every retry */
	CV_ESERVER = -15,   /* 5xx after every retry */
	CV_EPROTO = -16,    /* malformed or truncated answer */
	CV_EPAYMENT = -17,  /* Graph answered 402 */
	CV_EGONE = -18,     /* 404 on a resource that existed */
	CV_ECANCELLED = -19,/* stopped by the user or a signal */
	CV_ETOOBIG = -20,   /* answer larger than the cap */
	CV_ELOCKED = -21,   /* leased by another worker or process */
	CV_ECAP = -22,      /* the tenant's monthly message cap is reached */
	CV_EDEFER = -23,    /* not a failure: the task is to go on later (a worker's defer_until) */
};

struct cv_err {
	int code;
	char msg[640];
};

/* Set code and message; returns code so callers can `return err_set(...)`.
 * e may be NULL. */
int err_set(struct cv_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the existing message with more context ("reading chat X: ..."). */
int err_prefix(struct cv_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct cv_err *e);
/* A short fixed English name of a code, for logs and JSON. */
const char *err_code_name(int code);

#endif
