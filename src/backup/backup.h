/*
 * The "backup" job kind: what a worker does to back up private chats.
 * A job is planned into one task per account (list its chats with members)
 * and one task per chat (page through its messages); a chat shared by several
 * accounts gets one task per run. Each page is stored in one transaction
 * together with the task's resume point.
 */
#ifndef CV_BACKUP_BACKUP_H
#define CV_BACKUP_BACKUP_H

#include "engine/engine.h"

/* Register the kind with the engine. */
void backup_register(void);

extern const struct engine_kind backup_kind;

#endif
