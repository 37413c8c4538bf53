/*
 * From an error answer of the identity platform or Microsoft Graph to a
 * CV_E* code and one plain sentence a helpdesk person can act on ("the
 * client secret has expired: create a new one..."). Every text taken from the
 * server is sanitised and shortened before it goes into a message.
 */
#ifndef CV_GRAPH_ERRORS_H
#define CV_GRAPH_ERRORS_H

struct cv_err;

/* Names the messages may mention; any may be NULL. */
struct errors_ctx {
	const char *client_id;
	const char *tenant;
	const char *thumbprint; /* SHA-1, hex, as the portal shows it */
	const char *host;       /* the server that answered */
};

/* A failed token request (status and body as received). */
int errors_identity(long status, const char *body, const struct errors_ctx *ctx, struct cv_err *e);

/* A failed Graph request that will not be retried. */
int errors_graph(long status, const char *body, const struct errors_ctx *ctx, struct cv_err *e);

/* The first number of "error_codes", or the AADSTS number at the start of
 * "error_description"; 0 when neither is there. */
long errors_aadsts(const char *body);

/* Permission names from a Graph 403 message ("API requires one of 'A, B'"),
 * formatted "A (or B)"; NULL when there are none. The caller owns it. */
char *errors_permissions(const char *message);

#endif
