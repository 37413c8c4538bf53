/*
 * The export API path of a backup (DESIGN.md "How to read Teams chats fast").
 *
 * Graph facts this relies on (graph-facts.md §4, §5.2):
 * - GET /users/{id}/chats/getAllMessages returns the messages of all the
 *   user's chats, mixed, each with its chatId; $filter takes a
 *   lastModifiedDateTime range (gt and lt), $top at most 50.
 * - .../getAllMessages/delta returns pages, then a deltaLink; following that
 *   link later returns only what changed. Delta reaches back eight months.
 * - The export class allows 200 requests/s per tenant; /chats/{id}/messages
 *   allows 20 (and 1 per chat). The two budgets are separate, so the plan
 *   reads some chats one by one while the exports run (plan_balance).
 *
 * The phases, each recorded in the transaction that adds its tasks:
 *   "listed" rows (account, chat) come from the account tasks; on a first
 *   backup of many users, some exports are picked while they run;
 *   plan turns them into "cover" rows (chat, covering account) plus window
 *   and delta tasks, or "chat" tasks for the per-chat path;
 *   settle turns "cover" rows into "chat" tasks that only fetch files (the
 *   export finished) or read the chat (it did not).
 */
#include "config.h"

#include "backup/backup.h"
#include "backup/bulk.h"
#include "backup/files.h"
#include "backup/internal.h"
#include "graph/graph.h"
#include "graph/throttle.h"
#include "store/catalog.h"
#include "store/messages.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)
/* Delta reaches back eight months; a link older than this is not trusted. */
#define DELTA_REACH_MS (235 * DAY_MS)
/* A user's history is read in windows of about this span, in parallel. */
#define WINDOW_SPAN_MS (180 * DAY_MS)
#define MAX_WINDOWS 8
/* An export is read while at least this share of it is wanted (20/200 rps). */
#define COVER_RATIO 0.1
/* The documented rates (graph-facts.md §5.2), and the share of them the
 * throttle uses: on both classes the pace its controller settles at, and
 * THROTTLE_HEADROOM on each chat. A page holds 50 messages on either path. */
#define PAGE_MESSAGES 50.0
#define EXPORT_RPS (200.0 * THROTTLE_PACE_SETTLED)
#define CHAT_RPS (20.0 * THROTTLE_PACE_SETTLED)
#define ONE_CHAT_RPS (1.0 * THROTTLE_HEADROOM) /* and per chat */
/* Export pages stored in one transaction: the index leaves of the user's
 * chats and the commit's fsync are paid once for all of them. The parsed
 * pages wait in the worker's JSON arena until then. Eight or sixteen saved
 * no further CPU (doc/benchmarks.md). */
#define EXPORT_BATCH_PAGES 4
/* After the export API is refused, the tenant's runs read per chat this long. */
#define REFUSAL_HOLD_MS DAY_MS
/* The resume point of a window or delta task whose pages are all stored. */
#define RESUME_END "end"

struct plan_chat {
	int64_t id;
	char *chat_id;
	int64_t synced;  /* every change before this is stored; 0 never */
	int64_t created; /* 0 unknown */
	int64_t weight;  /* what reading it costs, in messages (estimated) */
	int by;          /* covering account's index, or -1 */
};

struct plan_acct {
	int64_t id;
	int64_t delta_from; /* 0 when the account has no usable delta link */
	int *chats;         /* indexes into the chat array */
	int n, cap;
	char pick;          /* 0, 'd' (delta round) or 'w' (windows and delta) */
	char early;         /* picked while the listing ran: its tasks exist */
	int64_t lo;         /* windows start here */
};

struct plan {
	struct plan_chat *chats;
	int n_chats;
	struct plan_acct *accts;
	int n_accts;
};

static void plan_free(struct plan *p)
{
	int i;

	for (i = 0; i < p->n_chats; i++)
		free(p->chats[i].chat_id);
	for (i = 0; i < p->n_accts; i++)
		free(p->accts[i].chats);
	free(p->chats);
	free(p->accts);
}

static int by_id(const void *key, const void *elem)
{
	int64_t a = *(const int64_t *)key, b = *(const int64_t *)elem;

	return (a > b) - (a < b);
}

/* A delta link holding changes since delta_from still reaches back far
 * enough to be followed. */
static int delta_fresh(int64_t delta_from)
{
	return delta_from > 0 && time_now_ms() - delta_from <= DELTA_REACH_MS;
}

static int has_row(struct engine_worker *w, const struct job_row *job, const char *key)
{
	sqlite3_stmt *st;
	int found = 0;

	if (catalog_prepare(w->db, "SELECT 1 FROM tasks WHERE job = ? AND key = ?", &st, NULL) == 0) {
		sqlite3_bind_int64(st, 1, job->id);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return found;
}

/* The count the query (with the job as ?1) gives, or -1 if it failed. */
static int64_t job_count(struct engine_worker *w, const struct job_row *job, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (catalog_prepare(w->db, sql, &st, NULL) == 0) {
		sqlite3_bind_int64(st, 1, job->id);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return n;
}

/* Tasks of the job still to run or running: its next phase waits for them. */
static int64_t tasks_pending(struct engine_worker *w, const struct job_row *job)
{
	return job_count(w, job, "SELECT count(*) FROM tasks WHERE job = ?1 AND state IN ('queued', 'running')");
}

/* The accounts whose listing finished, the chats listed, and who is in which. */
static int plan_load(struct engine_worker *w, const struct job_row *job, struct plan *p, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(w->db,
				  "SELECT a.id, CASE WHEN a.delta_link IS NULL THEN 0 ELSE coalesce(a.delta_from, 0) END"
				  " FROM tasks t JOIN accounts a ON a.id = t.account"
				  " WHERE t.job = ?1 AND t.kind = 'account' AND t.state = 'done' ORDER BY a.id",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, job->id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct plan_acct *a;

		p->accts = xreallocarray(p->accts, (size_t)p->n_accts + 1, sizeof *p->accts);
		a = &p->accts[p->n_accts++];
		memset(a, 0, sizeof *a);
		a->id = sqlite3_column_int64(st, 0);
		a->delta_from = sqlite3_column_int64(st, 1);
		if (!delta_fresh(a->delta_from))
			a->delta_from = 0;
	}
	sqlite3_finalize(st);

	if ((rc = catalog_prepare(w->db,
				  "SELECT DISTINCT c.id, c.chat_id, coalesce(c.synced, 0), coalesce(c.created, 0),"
				  " CASE WHEN coalesce(c.synced, 0) > 0 THEN c.messages ELSE 0 END"
				  " FROM tasks t JOIN chats c ON c.id = t.chat WHERE t.job = ?1 AND t.kind = 'listed'"
				  " ORDER BY c.id",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, job->id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct plan_chat *c;

		p->chats = xreallocarray(p->chats, (size_t)p->n_chats + 1, sizeof *p->chats);
		c = &p->chats[p->n_chats++];
		c->id = sqlite3_column_int64(st, 0);
		c->chat_id = xstrdup(catalog_text(st, 1));
		c->synced = sqlite3_column_int64(st, 2);
		c->created = sqlite3_column_int64(st, 3);
		/* A chat costs at least one page, and what it held when it was
		 * last complete: not what this run's early exports (or an
		 * interrupted first run) stored of it so far, which would make
		 * the chats they touched look heavier than the rest. */
		c->weight = 50 + sqlite3_column_int64(st, 4);
		c->by = -1;
	}
	sqlite3_finalize(st);

	/* Before the plan, a delta task is an early pick's (bulk_task_ended). */
	if ((rc = catalog_prepare(w->db, "SELECT account FROM tasks WHERE job = ?1 AND kind = 'delta'", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, job->id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t acct = sqlite3_column_int64(st, 0);
		struct plan_acct *a = bsearch(&acct, p->accts, (size_t)p->n_accts, sizeof *p->accts, by_id);

		if (a != NULL)
			a->early = 1;
	}
	sqlite3_finalize(st);

	if ((rc = catalog_prepare(w->db, "SELECT account, chat FROM tasks WHERE job = ?1 AND kind = 'listed'", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, job->id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t acct = sqlite3_column_int64(st, 0), chat = sqlite3_column_int64(st, 1);
		struct plan_acct *a = bsearch(&acct, p->accts, (size_t)p->n_accts, sizeof *p->accts, by_id);
		struct plan_chat *c = bsearch(&chat, p->chats, (size_t)p->n_chats, sizeof *p->chats, by_id);

		if (a == NULL || c == NULL)
			continue; /* its account's listing did not finish */
		if (a->n == a->cap) {
			a->cap = a->cap ? 2 * a->cap : 16;
			a->chats = xreallocarray(a->chats, (size_t)a->cap, sizeof *a->chats);
		}
		a->chats[a->n++] = (int)(c - p->chats);
	}
	sqlite3_finalize(st);
	return 0;
}

/* Where a read of chat c must start for nothing to be missed. */
static int64_t chat_since(const struct plan_chat *c)
{
	int64_t t = c->synced ? c->synced : c->created;

	return t > BACKUP_OVERLAP_MS ? t - BACKUP_OVERLAP_MS : 0;
}

/* A delta round from the account's link brings every change of chat c not
 * yet stored: the store holds c up to the link's start, or c began after it. */
static int delta_covers(const struct plan_acct *a, const struct plan_chat *c)
{
	int64_t start = c->synced ? c->synced : c->created;

	return a->delta_from && start > 0 && start >= a->delta_from;
}

static void cover(struct plan *p, int ai, char pick, int windows)
{
	struct plan_acct *a = &p->accts[ai];
	int i, first = a->pick != 'w';

	if (windows) {
		a->pick = 'w';
		for (i = 0; i < a->n; i++) {
			struct plan_chat *c = &p->chats[a->chats[i]];

			if (c->by < 0 && (first || chat_since(c) < a->lo)) {
				a->lo = chat_since(c);
				first = 0;
			}
		}
	} else if (!a->pick) {
		a->pick = pick;
	}
	for (i = 0; i < a->n; i++) {
		struct plan_chat *c = &p->chats[a->chats[i]];

		if (c->by < 0 && (windows || delta_covers(a, c)))
			c->by = ai;
	}
}

/* Users picked while the listing ran (bulk_task_ended) are already being
 * read: they cover their chats before any other pick. */
static void cover_early(struct plan *p)
{
	int i;

	for (i = 0; i < p->n_accts; i++)
		if (p->accts[i].early)
			cover(p, i, 0, 1);
}

/* How long a plan takes at the rates the throttle will use: the exports,
 * and beside them the chats read one by one (20 requests/s, and one a
 * second per chat, so the longest chat takes its pages in seconds). A chat
 * task gives its worker back while it waits for its next second, so the
 * few workers that serve chats first keep the whole 20 busy. */
static double plan_seconds(int64_t exported, int64_t direct, int64_t longest)
{
	double t = (double)exported / (EXPORT_RPS * PAGE_MESSAGES), d;

	if (direct > 0) {
		d = (double)direct / (CHAT_RPS * PAGE_MESSAGES);
		t = d > t ? d : t;
		d = (double)longest / (ONE_CHAT_RPS * PAGE_MESSAGES);
		t = d > t ? d : t;
	}
	return t;
}

/* The weight of everything an account's export serves. */
static int64_t export_weight(const struct plan *p, const struct plan_acct *a)
{
	int64_t w = 0;
	int i;

	for (i = 0; i < a->n; i++)
		w += p->chats[a->chats[i]].weight;
	return w;
}

/*
 * The greedy cover's last picks bring little: an export read for one chat
 * nobody else covers serves every other chat of its user again. With
 * workers to spare, those chats are better read one by one, on the per-chat
 * budget, while the exports run. picks[] are the accounts of the windowed
 * round in the order chosen, and by0[] each chat's cover before it. Returns
 * how many picks to keep: the k whose plan finishes soonest by
 * plan_seconds(), and on a tie the one with more exports.
 */
static int plan_balance(const struct plan *p, const int *by0, const int *picks, int n)
{
	/* first[i]: the heaviest chat first covered by pick i (n: by none);
	 * gain[i]: the weight pick i covered */
	int64_t *first = xcalloc((size_t)n + 1, sizeof *first);
	int64_t *gain = xcalloc((size_t)n + 1, sizeof *gain);
	int *at = xmalloc((size_t)p->n_accts * sizeof *at);
	int64_t exported = 0, direct;
	double t, best_t = 0;
	int i, best = n;

	for (i = 0; i < p->n_accts; i++)
		at[i] = n;
	for (i = 0; i < n; i++) {
		at[picks[i]] = i;
		exported += export_weight(p, &p->accts[picks[i]]);
	}
	for (i = 0; i < p->n_chats; i++) {
		const struct plan_chat *c = &p->chats[i];
		int j = c->by >= 0 ? at[c->by] : n;

		if (by0[i] >= 0)
			continue; /* covered before this round */
		if (c->weight > first[j])
			first[j] = c->weight;
		gain[j] += c->weight;
	}
	/* After i picks, the chats first covered by pick i or later are read
	 * one by one: first[] becomes the heaviest of them. */
	for (i = n - 1; i >= 0; i--)
		if (first[i + 1] > first[i])
			first[i] = first[i + 1];
	direct = gain[n];
	for (i = n; i >= 0; i--) {
		t = plan_seconds(exported, direct, first[i]);
		if (i == n || t < best_t) {
			best = i;
			best_t = t;
		}
		if (i > 0) {
			exported -= export_weight(p, &p->accts[picks[i - 1]]);
			direct += gain[i - 1];
		}
	}
	free(first);
	free(gain);
	free(at);
	return best;
}

/*
 * Greedy set cover, in two rounds. First the users with a delta link: a
 * delta round costs about one request and covers the chats delta_covers()
 * allows. Then, for what is left,
 * the users whose export (read in windows from the oldest change needed)
 * gives the most wanted messages per message read, while that share is at
 * least COVER_RATIO, cut short by plan_balance() when `slots` workers
 * serve chats read one by one. What remains is read per chat. Users picked
 * while the listing ran (bulk_task_ended) come before both rounds and are
 * kept whatever the balance.
 */
static void plan_cover(struct plan *p, int slots)
{
	int *picks = xmalloc(((size_t)p->n_accts + 1) * sizeof *picks);
	int *by0 = xmalloc(((size_t)p->n_chats + 1) * sizeof *by0);
	struct plan_acct *acct0 = xmalloc(((size_t)p->n_accts + 1) * sizeof *acct0);
	int n = 0, keep, i;

	cover_early(p);
	for (;;) {
		int j, best = -1, best_gain = 0;

		for (i = 0; i < p->n_accts; i++) {
			const struct plan_acct *a = &p->accts[i];
			int gain = 0;

			if (!a->delta_from || a->pick)
				continue;
			for (j = 0; j < a->n; j++) {
				const struct plan_chat *c = &p->chats[a->chats[j]];

				gain += c->by < 0 && delta_covers(a, c);
			}
			if (gain > best_gain) {
				best = i;
				best_gain = gain;
			}
		}
		if (best < 0)
			break;
		cover(p, best, 'd', 0);
	}
	for (i = 0; i < p->n_chats; i++)
		by0[i] = p->chats[i].by;
	memcpy(acct0, p->accts, (size_t)p->n_accts * sizeof *acct0);
	for (;;) {
		int j, best = -1;
		double best_ratio = COVER_RATIO;

		for (i = 0; i < p->n_accts; i++) {
			const struct plan_acct *a = &p->accts[i];
			int64_t gain = 0, cost = 0;

			if (a->pick == 'w')
				continue;
			for (j = 0; j < a->n; j++) {
				const struct plan_chat *c = &p->chats[a->chats[j]];

				cost += c->weight;
				gain += c->by < 0 ? c->weight : 0;
			}
			if (gain > 0 && (double)gain / (double)cost >= best_ratio) {
				best = i;
				best_ratio = (double)gain / (double)cost;
			}
		}
		if (best < 0)
			break;
		cover(p, best, 0, 1);
		picks[n++] = best;
	}
	keep = slots > 0 ? plan_balance(p, by0, picks, n) : n;
	if (keep < n) {
		/* back to before the windowed round, then its first picks again */
		for (i = 0; i < p->n_chats; i++)
			p->chats[i].by = by0[i];
		for (i = 0; i < p->n_accts; i++) {
			p->accts[i].pick = acct0[i].pick;
			p->accts[i].lo = acct0[i].lo;
		}
		for (i = 0; i < keep; i++)
			cover(p, picks[i], 0, 1);
	}
	free(picks);
	free(by0);
	free(acct0);
}

/*
 * A picked user's tasks: its delta round and, for 'w', windows from lo to
 * the job's start, about WINDOW_SPAN_MS each. Every task ends on a part
 * page, so with no link to follow the new delta round reads the newest
 * window itself when delta reaches back that far: one task and one part
 * page less per user. The delta task's key holds where its round starts
 * (0: at the job's start, or from the account's link).
 */
static int queue_export(struct engine_worker *w, const struct job_row *job, const struct plan_acct *a, int *added,
			struct cv_err *e)
{
	int64_t end = job->started, lo = a->lo, span = end - lo, step = 0, round = 0;
	int n = 0, i, rc;
	char key[96];

	if (a->pick == 'w') {
		/* Without a known start the history is one window. */
		n = lo <= 0 || span <= 0 ? 1 : (int)((span + WINDOW_SPAN_MS - 1) / WINDOW_SPAN_MS);
		if (n > MAX_WINDOWS)
			n = MAX_WINDOWS;
		step = span / n;
		if (lo > 0 && span > 0 && a->delta_from == 0 && end - (lo + step * (n - 1)) < DELTA_REACH_MS) {
			n--;
			round = lo + step * n;
		}
	}
	snprintf(key, sizeof key, "delta:%lld/%lld", (long long)a->id, (long long)round);
	rc = task_add(w->db, job->id, key, "delta", a->id, 0, NULL, e);
	(*added)++;
	for (i = 0; i < n && rc == 0; i++) {
		int64_t from = lo + step * i, to = i == n - 1 && round == 0 ? end : lo + step * (i + 1);

		snprintf(key, sizeof key, "window:%lld:%lld:%lld", (long long)a->id, (long long)from, (long long)to);
		rc = task_add(w->db, job->id, key, "window", a->id, 0, NULL, e);
		(*added)++;
	}
	return rc;
}

/* The tenant refused the export API recently: its reason, else "". */
static void export_refusal(struct engine_worker *w, const struct job_row *job, char *why, size_t n)
{
	char key[48], value[400];
	const char *tab;

	why[0] = '\0';
	snprintf(key, sizeof key, "export_refused:%lld", (long long)job->tenant);
	if (catalog_setting_get(w->db, key, value, sizeof value, NULL) == 0 && (tab = strchr(value, '\t')) != NULL &&
	    time_now_ms() - strtoll(value, NULL, 10) < REFUSAL_HOLD_MS)
		snprintf(why, n, "%s", tab + 1);
}

static int per_chat_wanted(const struct job_row *job)
{
	cJSON *params = json_parse(job->params, strlen(job->params));
	int yes = params && strcmp(json_str_or(params, "path", "auto"), "per-chat") == 0;

	cJSON_Delete(params);
	return yes;
}

/* Plan the run, once: *added is the tasks added, or -1 when another worker
 * made the plan first (its tasks may not have ended yet). */
static int plan_run(struct engine_worker *w, const struct job_row *job, int *added, struct cv_err *e)
{
	struct plan p;
	char refused[300], note[600];
	int i, rc, exports = 0, windowed = 0, direct = 0, per_chat;

	memset(&p, 0, sizeof p);
	*added = 0;
	export_refusal(w, job, refused, sizeof refused);
	per_chat = per_chat_wanted(job);
	if ((rc = catalog_begin(w->db, e)))
		return rc;
	if (has_row(w, job, BACKUP_PHASE_PLAN)) {
		*added = -1;
		catalog_rollback(w->db);
		return 0;
	}
	if ((rc = plan_load(w, job, &p, e)))
		goto fail;
	if (!per_chat && !refused[0])
		plan_cover(&p, engine_direct_slots(w->engine));
	for (i = 0; i < p.n_accts && rc == 0; i++) {
		const struct plan_acct *a = &p.accts[i];

		if (!a->pick)
			continue;
		exports++;
		windowed += a->pick == 'w';
		if (!a->early) /* an early pick's tasks were added when it was picked */
			rc = queue_export(w, job, a, added, e);
	}
	for (i = 0; i < p.n_chats && rc == 0; i++) {
		const struct plan_chat *c = &p.chats[i];
		char *key = xasprintf("chat:%s", c->chat_id);

		if (c->by >= 0) {
			rc = task_note(w->db, job->id, key, "cover", p.accts[c->by].id, c->id, e);
		} else {
			rc = task_add(w->db, job->id, key, "chat", 0, c->id, NULL, e);
			direct++;
			(*added)++;
		}
		free(key);
	}
	if (rc)
		goto fail;
	if (per_chat)
		snprintf(note, sizeof note, P_("per chat (asked for): %d chat", "per chat (asked for): %d chats", direct),
			 direct);
	else if (refused[0])
		snprintf(note, sizeof note,
			 P_("per chat: %d chat; the export API was refused: %s",
			    "per chat: %d chats; the export API was refused: %s", direct),
			 direct, refused);
	else
		snprintf(note, sizeof note,
			 P_("export API: %d user's export (%d read in windows, %d by delta), %d chat per chat",
			    "export API: %d users' exports (%d read in windows, %d by delta), %d chats per chat", exports),
			 exports, windowed, exports - windowed, direct);
	if ((rc = job_set_note(w->db, job->id, note, e)) ||
	    (rc = task_note(w->db, job->id, BACKUP_PHASE_PLAN, "phase", 0, 0, e)))
		goto fail;
	rc = catalog_commit(w->db, e);
	if (rc == 0)
		log_info("backup job %lld: %s", (long long)job->id, note);
	plan_free(&p);
	return rc;
fail:
	catalog_rollback(w->db);
	plan_free(&p);
	*added = 0;
	return rc;
}

/* Every covered chat becomes a chat task: files only if its export
 * finished, the whole per-chat read if not. *added is -1 when tasks are
 * still to end (a plan made beside the job's lease, bulk_task_ended). */
static int settle_run(struct engine_worker *w, const struct job_row *job, int *added, struct cv_err *e)
{
	sqlite3_stmt *st;
	int fallback = 0, rc;

	*added = 0;
	if ((rc = catalog_begin(w->db, e)))
		return rc;
	if (tasks_pending(w, job) > 0) {
		*added = -1;
		catalog_rollback(w->db);
		return 0;
	}
	if ((rc = catalog_prepare(w->db,
				  "UPDATE tasks SET kind = 'chat', state = 'queued', account = NULL,"
				  /* one list of the accounts whose export is unfinished,
				   * not a scan of the job's tasks for every cover row */
				  " resume = CASE WHEN account IN (SELECT x.account FROM tasks x WHERE x.job = ?1"
				  "   AND x.kind IN ('window', 'delta') AND x.state <> 'done') THEN NULL ELSE ?2 END"
				  " WHERE job = ?1 AND kind = 'cover' RETURNING resume IS NULL",
				  &st, e)))
		goto fail;
	sqlite3_bind_int64(st, 1, job->id);
	sqlite3_bind_text(st, 2, BACKUP_RESUME_FILES, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		(*added)++;
		fallback += sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		rc = catalog_error(w->db, _("queueing the chats an export covered"), e);
		goto fail;
	}
	rc = 0;
	if (*added && (rc = job_bump_progress(w->db, job->id, 0, *added, e)))
		goto fail;
	if (fallback) {
		char *more = xasprintf(P_("%d chat read per chat after its export failed",
					  "%d chats read per chat after their export failed", fallback),
				       fallback);

		/* The plan's note stays; this says what changed. */
		rc = job_append_note(w->db, job->id, more, e);
		free(more);
		if (rc)
			goto fail;
	}
	if ((rc = task_note(w->db, job->id, "phase:settle", "phase", 0, 0, e)))
		goto fail;
	return catalog_commit(w->db, e);
fail:
	catalog_rollback(w->db);
	*added = 0;
	return rc;
}

/* ---- exports started while the listing runs ----------------------------- */

/* Listing 500 users' chats takes 17 s at 30 requests/s, while the export
 * budget sits idle. So on a first backup, while at least EARLY_MIN_LEFT
 * listings remain, each listing that ends may pick one user already
 * listed, whose chats no earlier pick covers, and queue its export, as
 * long as fewer than EARLY_AHEAD export tasks wait or run. The plan then
 * starts from those picks. On a first backup every chat weighs alike, and
 * a user none of whose chats is covered is as good a pick as the greedy
 * cover's own first ones. */
#define EARLY_MIN_LEFT 60
#define EARLY_AHEAD 24

/* A user whose chats no pick covers yet, or -1. */
static int early_candidate(const struct plan *p)
{
	int i, j;

	for (i = 0; i < p->n_accts; i++) {
		const struct plan_acct *a = &p->accts[i];

		if (a->pick || a->n == 0)
			continue;
		for (j = 0; j < a->n && p->chats[a->chats[j]].by < 0; j++)
			;
		if (j == a->n)
			return i;
	}
	return -1;
}

static int early_pick(struct engine_worker *w, const struct job_row *job, struct cv_err *e)
{
	struct plan p;
	int i, rc, added = 0;

	memset(&p, 0, sizeof p);
	if ((rc = catalog_begin(w->db, e)))
		return rc;
	if (has_row(w, job, BACKUP_PHASE_PLAN) || (rc = plan_load(w, job, &p, e)))
		goto out;
	cover_early(&p);
	if ((i = early_candidate(&p)) < 0)
		goto out;
	cover(&p, i, 0, 1);
	rc = queue_export(w, job, &p.accts[i], &added, e);
out:
	plan_free(&p);
	if (rc) {
		catalog_rollback(w->db);
		return rc;
	}
	return catalog_commit(w->db, e);
}

/* Whether an export may be picked now: a first backup on the export path
 * (no delta link but the early picks' own), with listings enough left to
 * be worth it, and fewer than EARLY_AHEAD export tasks waiting. */
static int early_wanted(struct engine_worker *w, const struct job_row *job, int64_t listings_left)
{
	char refused[300];

	if (listings_left < EARLY_MIN_LEFT || per_chat_wanted(job))
		return 0;
	export_refusal(w, job, refused, sizeof refused);
	if (refused[0])
		return 0;
	/* (EXISTS stops at the first account with a link of its own, and the
	 * delta task is found by its key, "delta:<account>/<round start>", on
	 * the index: on an incremental run of 500 users a count here cost 24
	 * CPU-seconds.) */
	return job_count(w, job,
			 "SELECT EXISTS (SELECT 1 FROM tasks t JOIN accounts a ON a.id = t.account"
			 " WHERE t.job = ?1 AND t.kind = 'account' AND a.delta_link IS NOT NULL"
			 " AND NOT EXISTS (SELECT 1 FROM tasks d WHERE d.job = ?1"
			 " AND d.key > 'delta:' || a.id || '/' AND d.key < 'delta:' || a.id || '0'))") == 0 &&
	       job_count(w, job,
			 "SELECT count(*) FROM tasks WHERE job = ?1 AND kind IN ('window', 'delta')"
			 " AND state IN ('queued', 'running')") < EARLY_AHEAD;
}

void bulk_task_ended(struct engine_worker *w, const struct job_row *job, const struct task_row *t)
{
	struct cv_err e = {0};
	int64_t left;
	int rc = 0, added;

	if (strcmp(t->kind, "account") != 0 || has_row(w, job, BACKUP_PHASE_PLAN))
		return;
	left = job_count(w, job,
			 "SELECT count(*) FROM tasks WHERE job = ?1 AND kind = 'account'"
			 " AND state IN ('queued', 'running')");
	if (left == 0) /* the listing is complete: plan now, beside the early exports */
		rc = plan_run(w, job, &added, &e);
	else if (early_wanted(w, job, left))
		rc = early_pick(w, job, &e);
	if (rc)
		log_warn("backup job %lld: %s", (long long)job->id, e.msg);
}

int bulk_advance(struct engine_worker *w, const struct job_row *job, int *more, struct cv_err *e)
{
	int added = 0, rc;

	*more = 0;
	/* reads a joining backup queued again (backup_catch_up) come first */
	if (tasks_pending(w, job) > 0) {
		*more = 1;
		return 0;
	}
	if (!has_row(w, job, BACKUP_PHASE_PLAN)) {
		if ((rc = plan_run(w, job, &added, e)))
			return rc;
		if (added) { /* its tasks, or another worker's plan: first they run */
			*more = 1;
			return 0;
		}
	}
	if (!has_row(w, job, "phase:settle")) {
		if ((rc = settle_run(w, job, &added, e)))
			return rc;
		*more = added != 0;
	}
	return 0;
}

/* ---- window and delta tasks --------------------------------------------- */

/* The first request of a window task: its lastModifiedDateTime range. */
static int window_url(const struct task_row *t, const char *user_id, struct buf *url, struct cv_err *e)
{
	long long acct, from, to;

	if (sscanf(t->key, "window:%lld:%lld:%lld", &acct, &from, &to) != 3)
		return err_set(e, CV_EINVAL, _("a damaged export window '%s'"), t->key);
	buf_append_str(url, "/v1.0/users/");
	url_escape(url, user_id);
	buf_append_str(url, "/chats/getAllMessages?$top=50&$filter=");
	if (from > 0) {
		/* gt and lt both exclude: start 1 ms early so a change at a
		 * window's boundary is read once, not never. */
		buf_append_str(url, "lastModifiedDateTime%20gt%20");
		backup_append_time(url, from - 1);
		buf_append_str(url, "%20and%20");
	}
	buf_append_str(url, "lastModifiedDateTime%20lt%20");
	backup_append_time(url, to);
	return 0;
}

/* The first request of a delta task: a new round from where its key says
 * (the newest window it took over), else the account's delta link while it
 * reaches back far enough, else a new round from the job's start. */
static int delta_url(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
		     const char *user_id, struct buf *url, struct cv_err *e)
{
	long long acct, round = 0;
	sqlite3_stmt *st;
	int rc;

	if (sscanf(t->key, "delta:%lld/%lld", &acct, &round) != 2 || round < 0)
		round = 0;
	if ((rc = catalog_prepare(w->db, "SELECT delta_link, coalesce(delta_from, 0) FROM accounts WHERE id = ?", &st,
				  e)))
		return rc;
	sqlite3_bind_int64(st, 1, t->account);
	/* A round of its own (from a window) starts there, unless this job
	 * already finished it (backup_catch_up queued it again): then its
	 * link goes on from where the round ended. */
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (round == 0 ? delta_fresh(sqlite3_column_int64(st, 1))
			: sqlite3_column_int64(st, 1) == job->started - BACKUP_OVERLAP_MS))
		buf_append_str(url, catalog_text(st, 0));
	sqlite3_finalize(st);
	if (url->len == 0) {
		buf_append_str(url, "/v1.0/users/");
		url_escape(url, user_id);
		buf_append_str(url, "/chats/getAllMessages/delta?$top=50&$filter=lastModifiedDateTime%20gt%20");
		/* (1 ms early, as a window's start: a change at the boundary is read) */
		backup_append_time(url, round > 0 ? round - 1 : job->started - BACKUP_OVERLAP_MS);
	}
	return 0;
}

/* A chat created since the listing, met in an export. Its messages are
 * stored now, as the resume point and delta link move past them: under a
 * chat row that knows only its id, linked to the account whose export
 * brought it. The next run's listing fills in the rest. */
static int chat_first_seen(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
			   const char *guid, const char *chat_id, int64_t *chat, struct cv_err *e)
{
	cJSON *meta;
	char *text;
	int rc;

	if (strlen(chat_id) > 512)
		return err_set(e, CV_EPROTO, _("Microsoft Graph sent a message with an overlong chatId"));
	meta = cJSON_CreateObject();
	cJSON_AddStringToObject(meta, "id", chat_id);
	text = cJSON_PrintUnformatted(meta);
	cJSON_Delete(meta);
	{
		struct chat_put cp = {
			.tenant = job->tenant, .tenant_guid = guid, .chat_id = chat_id, .meta_json = text,
		};

		rc = chat_put(w->db, w->store->vault, &cp, chat, e);
	}
	cJSON_free(text);
	if (rc == 0)
		rc = chat_link_account(w->db, t->account, *chat, e);
	return rc;
}

/* Pages of an export: messages of many chats, each stored under its own
 * chat, in one transaction with the resume point after the last page. */
static int store_export_pages(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
			      struct graph_tenant *gt, const char *guid, cJSON *const *pages, int npages,
			      int64_t *stored, struct cv_err *e)
{
	cJSON *last = pages[npages - 1];
	const char *next = graph_page_next(last), *delta = graph_page_delta(last);
	struct chat_tally tally = CHAT_TALLY_INIT;
	sqlite3_stmt *find = NULL;
	int rc, n = 0, received = 0;

	if (!next && strcmp(t->kind, "delta") == 0 && !delta)
		return err_set(e, CV_EPROTO, _("Microsoft Graph ended a delta round without a delta link"));
	if ((rc = catalog_begin_relaxed(w->db, e)))
		return rc;
	if ((rc = catalog_stmt(w->db, "SELECT id FROM chats WHERE tenant = ? AND chat_id = ?", &find, e)))
		goto fail;
	for (int i = 0; i < npages; i++) {
		cJSON *msgs = graph_page_value(pages[i]), *m;

		received += cJSON_GetArraySize(msgs);
		cJSON_ArrayForEach(m, msgs)
		{
			const char *chat_id = json_str(m, "chatId");
			int64_t chat;
			int added;

			if (chat_id == NULL) {
				rc = err_set(e, CV_EPROTO, _("Microsoft Graph sent an exported message without its chatId"));
				goto fail;
			}
			sqlite3_reset(find);
			sqlite3_bind_int64(find, 1, job->tenant);
			sqlite3_bind_text(find, 2, chat_id, -1, SQLITE_STATIC);
			if (sqlite3_step(find) == SQLITE_ROW)
				chat = sqlite3_column_int64(find, 0);
			else if ((rc = chat_first_seen(w, job, t, guid, chat_id, &chat, e)))
				goto fail;
			if ((rc = backup_store_message(w, job, guid, chat, chat_id, m, &tally, &added, e)))
				goto fail;
			n += added;
		}
	}
	catalog_release(find);
	find = NULL;
	if ((rc = chat_tally_flush(w->db, &tally, e)) ||
	    (rc = task_checkpoint(w->db, t->id, next ? next : RESUME_END, n, e)) ||
	    (rc = engine_charge_usage(w->db, job->tenant, gt, received, e)))
		goto fail;
	if (!next && delta) {
		sqlite3_stmt *st;

		/* With what this run stored, the new link holds every change
		 * made since the job began. */
		if ((rc = catalog_prepare(w->db, "UPDATE accounts SET delta_link = ?2, delta_from = ?3 WHERE id = ?1",
					  &st, e)))
			goto fail;
		sqlite3_bind_int64(st, 1, t->account);
		sqlite3_bind_text(st, 2, delta, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, job->started - BACKUP_OVERLAP_MS);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(w->db, _("saving a delta link"), e);
		sqlite3_finalize(st);
		if (rc)
			goto fail;
	}
	if ((rc = catalog_commit(w->db, e)) == 0)
		*stored += n;
	chat_tally_free(&tally);
	return rc;
fail:
	catalog_release(find);
	catalog_rollback(w->db);
	chat_tally_free(&tally);
	return rc;
}

/* Fetch up to EXPORT_BATCH_PAGES pages from *url on, following next links;
 * *url ends at the link after the last page fetched (empty at the end).
 * Returns the error that stopped the fetch early, if any: the pages fetched
 * before it are in pages[0..*npages). */
static int fetch_export_pages(struct engine_worker *w, const struct job_row *job, struct graph_tenant *gt,
			      struct buf *url, cJSON **pages, int *npages, struct cv_err *e)
{
	int64_t pending = 0;
	int rc = 0;

	*npages = 0;
	while (*npages < EXPORT_BATCH_PAGES && url->len && !w->stop) {
		struct graph_request req = {.url = url->data, .cls = GRAPH_CLASS_EXPORT, .prefer_unknown_enums = 1};
		cJSON *page = NULL;
		const char *next;

		/* the pages held here count against the cap already */
		if ((rc = usage_check_cap(w->db, job->tenant, pending, e)) ||
		    (rc = graph_get_page(w->conn, gt, &req, &page, e)))
			break;
		next = graph_page_next(page);
		if ((rc = backup_check_next(url, next, e))) {
			json_arena_drop(page);
			break;
		}
		pages[(*npages)++] = page;
		pending += cJSON_GetArraySize(graph_page_value(page));
		buf_reset(url);
		if (next)
			buf_append_str(url, next);
	}
	return rc;
}

/* Remember for a day that the tenant's app may not use the export API, so
 * the next runs go per chat straight away; the job's note says why. */
static void note_refusal(struct engine_worker *w, const struct job_row *job, const char *why)
{
	char key[48];
	char *value = xasprintf("%lld\t%s", (long long)time_now_ms(), why);

	snprintf(key, sizeof key, "export_refused:%lld", (long long)job->tenant);
	catalog_setting_set(w->db, key, value, NULL);
	free(value);
}

int bulk_run_task(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
		  struct graph_tenant *gt, const char *guid, struct cv_err *e)
{
	struct buf url = BUF_INIT;
	char user_id[256];
	int64_t stored = 0;
	int rc;

	if (t->resume && strcmp(t->resume, RESUME_END) == 0)
		return 0;
	if ((rc = backup_user_id(w, t->account, user_id, sizeof user_id, e)))
		return rc;
	if (t->resume && *t->resume)
		buf_append_str(&url, t->resume);
	else if ((rc = strcmp(t->kind, "window") == 0 ? window_url(t, user_id, &url, e)
							: delta_url(w, job, t, user_id, &url, e)))
		return rc;
	while (url.len && !w->stop) {
		cJSON *pages[EXPORT_BATCH_PAGES];
		int npages;

		json_arena_enter(&w->arena);
		rc = fetch_export_pages(w, job, gt, &url, pages, &npages, e);
		if (npages > 0) {
			/* What was fetched before an error is kept; an error
			 * storing it is the one reported. */
			struct cv_err store_err = {0};
			int src = store_export_pages(w, job, t, gt, guid, pages, npages, &stored, &store_err);

			if (src == 0) {
				backup_page_stored(w, job, &url, graph_page_next(pages[npages - 1]));
			} else {
				rc = src;
				if (e)
					*e = store_err;
			}
			for (int i = 0; i < npages; i++)
				json_arena_drop(pages[i]);
		}
		json_arena_leave(&w->arena);
		if (rc)
			break;
	}
	buf_free(&url);
	if (rc == CV_EPAYMENT || rc == CV_EFORBIDDEN)
		note_refusal(w, job, e->msg);
	if (rc && rc != CV_ECAP) {
		/* The reason is read by people: the account by its UPN (tenant
		 * text, so made inert here too), the internal id only if the
		 * UPN cannot be read. */
		char upn[256];
		char *safe;

		if (catalog_text_by_id(w->db, "SELECT upn FROM accounts WHERE id = ?1", t->account, upn, sizeof upn,
				       NULL) != 0)
			snprintf(upn, sizeof upn, "%s", user_id);
		safe = sanitize_dup(upn, 0);
		rc = err_prefix(e, _("the export of %s"), safe);
		free(safe);
		return rc;
	}
	if (rc)
		return rc;
	return w->stop ? CV_ECANCELLED : 0;
}
