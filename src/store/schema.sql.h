/*
 * The catalog schema, as forward-only migrations: migration N brings a
 * catalog from user_version N-1 to N. Never edit a released migration; add
 * the next one.
 *
 * Plain columns hold what the console must list and sort without decrypting
 * (ids, UPNs, display names, departments, times, counts, statuses). Columns
 * ending in _enc are vault-sealed records; their associated data is the
 * record's identity (see store.h).
 */
static const char *const catalog_migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE tenants ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  tenant_id TEXT NOT NULL,"
	"  client_id TEXT NOT NULL,"
	"  cred_kind TEXT NOT NULL CHECK (cred_kind IN ('secret', 'certificate')),"
	"  jwt_alg TEXT NOT NULL DEFAULT 'PS256',"
	"  cloud TEXT NOT NULL DEFAULT 'global',"
	"  login_url TEXT NOT NULL,"
	"  graph_url TEXT NOT NULL,"
	"  cert_pem TEXT,"
	"  secret_enc BLOB NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'Active',"
	"  reason TEXT,"
	"  monthly_limit INTEGER,"
	"  price_per_message REAL NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  user_id TEXT NOT NULL,"
	"  upn TEXT NOT NULL,"
	"  display_name TEXT NOT NULL DEFAULT '',"
	"  department TEXT,"
	"  mail TEXT,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  gone INTEGER NOT NULL DEFAULT 0,"
	"  privchat INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL DEFAULT '',"
	"  reason TEXT,"
	"  last_backup INTEGER,"
	"  chats INTEGER NOT NULL DEFAULT 0,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (tenant, user_id)"
	");"
	"CREATE INDEX accounts_tenant_upn ON accounts(tenant, upn COLLATE NOCASE);"
	"CREATE INDEX accounts_tenant_name ON accounts(tenant, display_name COLLATE NOCASE);"
	"CREATE INDEX accounts_tenant_dept ON accounts(tenant, department COLLATE NOCASE);"
	"CREATE INDEX accounts_tenant_status ON accounts(tenant, privchat, status);"
	"CREATE TABLE chats ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  chat_id TEXT NOT NULL,"
	"  chat_type TEXT NOT NULL,"
	"  created INTEGER,"
	"  last_updated INTEGER,"
	"  member_count INTEGER NOT NULL DEFAULT 0,"
	"  meta_enc BLOB NOT NULL,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  last_activity INTEGER,"
	"  UNIQUE (tenant, chat_id)"
	");"
	"CREATE TABLE account_chats ("
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  chat INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (account, chat)"
	") WITHOUT ROWID;"
	"CREATE INDEX account_chats_chat ON account_chats(chat);"
	"CREATE TABLE snapshots ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  job INTEGER,"
	"  started INTEGER NOT NULL,"
	"  finished INTEGER,"
	"  status TEXT NOT NULL DEFAULT 'In Progress',"
	"  messages_added INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  chat INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  message_id TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  modified INTEGER NOT NULL,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  snapshot INTEGER NOT NULL REFERENCES snapshots(id),"
	"  raw_enc BLOB NOT NULL,"
	"  UNIQUE (chat, message_id, version)"
	");"
	"CREATE INDEX messages_chat_created ON messages(chat, created);"
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  tenant INTEGER REFERENCES tenants(id) ON DELETE CASCADE,"
	"  params TEXT NOT NULL DEFAULT '{}',"
	"  status TEXT NOT NULL DEFAULT 'On Queue',"
	"  reason TEXT,"
	"  progress_done INTEGER NOT NULL DEFAULT 0,"
	"  progress_total INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  started INTEGER,"
	"  finished INTEGER,"
	"  lease_owner TEXT,"
	"  lease_expires INTEGER,"
	"  planned INTEGER NOT NULL DEFAULT 0,"
	"  cancel INTEGER NOT NULL DEFAULT 0,"
	"  snapshot INTEGER REFERENCES snapshots(id),"
	"  result_path TEXT,"
	"  result_size INTEGER,"
	"  problems INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX jobs_status ON jobs(finished, kind);"
	"CREATE TABLE tasks ("
	"  id INTEGER PRIMARY KEY,"
	"  job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  key TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  account INTEGER REFERENCES accounts(id) ON DELETE CASCADE,"
	"  chat INTEGER REFERENCES chats(id) ON DELETE CASCADE,"
	"  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),"
	"  lease_owner TEXT,"
	"  lease_expires INTEGER,"
	"  resume TEXT,"
	"  error_code INTEGER,"
	"  reason TEXT,"
	"  items INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (job, key)"
	");"
	"CREATE INDEX tasks_runnable ON tasks(state, job);"
	"CREATE TABLE usage ("
	"  tenant INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  month TEXT NOT NULL,"
	"  requests INTEGER NOT NULL DEFAULT 0,"
	"  throttled INTEGER NOT NULL DEFAULT 0,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (tenant, month)"
	") WITHOUT ROWID;"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT,"
	"  detail TEXT"
	");",

	/* 2: hosted contents and files, the per-chat watermark, settings */
	"CREATE TABLE blobs ("
	"  name TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  created INTEGER NOT NULL"
	") WITHOUT ROWID;"
	/* One row per hosted content or reference file of a message. ref is a
	 * keyed hash of what Graph names it by (hosted content id, contentUrl);
	 * meta_enc holds the name and that reference. status is
	 * 0 until fetched, then the HTTP status that settled it (200 stored,
	 * 403, 404), or -1 after an error worth trying again. */
	"CREATE TABLE files ("
	"  id INTEGER PRIMARY KEY,"
	"  chat INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  message_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('hosted', 'file')),"
	"  ref TEXT NOT NULL,"
	"  meta_enc BLOB NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  job INTEGER,"
	"  blob TEXT REFERENCES blobs(name),"
	"  size INTEGER,"
	"  UNIQUE (chat, message_id, ref)"
	");"
	"CREATE INDEX files_chat_status ON files(chat, status);"
	"CREATE INDEX files_ref ON files(ref, status);"
	/* the newest lastModifiedDateTime a finished run has read in full */
	"ALTER TABLE chats ADD COLUMN watermark INTEGER;"
	/* store-wide settings, such as the running scheduler's times */
	"CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;",

	/* 3: the export API path. An account's getAllMessages/delta link and
	 * the time from which that link and the store together hold every
	 * change of the user's chats; a chat's time up to which every change
	 * is stored; a backup job's note on the path it took. */
	"ALTER TABLE accounts ADD COLUMN delta_link TEXT;"
	"ALTER TABLE accounts ADD COLUMN delta_from INTEGER;"
	"ALTER TABLE chats ADD COLUMN synced INTEGER;"
	"ALTER TABLE jobs ADD COLUMN note TEXT;",

	/* 4: a task that waits (a chat at its one request a second) goes back
	 * to the queue until this time (ms since the epoch) and frees its
	 * worker meanwhile. */
	"ALTER TABLE tasks ADD COLUMN not_before INTEGER;",

	/* 5: running figures kept as messages are stored (chat_tally), so a
	 * chat's watermark and a snapshot's count need no scan of messages:
	 * a chat's newest lastModifiedDateTime held, and the versions an
	 * unfinished snapshot has added so far (a finished one has its count).
	 * And a job's tasks by chat, for each account's outcome at the end. */
	"ALTER TABLE chats ADD COLUMN newest_modified INTEGER;"
	"CREATE INDEX tasks_job_chat ON tasks(job, chat);"
	/* the first due task of each lane (task_lease) */
	"CREATE INDEX tasks_lane ON tasks(state, " TASK_LANE("kind") ", coalesce(not_before, 0));"
	"UPDATE chats SET newest_modified = (SELECT max(modified) FROM messages WHERE chat = chats.id);"
	"UPDATE snapshots SET messages_added = (SELECT count(*) FROM messages WHERE snapshot = snapshots.id)"
	" WHERE finished IS NULL;",

	/* 6: a refused file (403, 404) is asked for again a week after its
	 * last try (FILE_RETRY_REFUSED_MS), since a sharing link can be
	 * restored and an app granted Files.Read.All. tried is when a job last
	 * settled the row (ms); refused_since is the job that first met the
	 * refusal it still has, so a repeat of it is not reported again. Rows
	 * from before have neither, and are tried once more on the next run. */
	"ALTER TABLE files ADD COLUMN tried INTEGER;"
	"ALTER TABLE files ADD COLUMN refused_since INTEGER;",
};
