/*
 * update_db_subs_timer of presence_api_t: a companion's subscription table (rls's rls_table)
 * written to its database table (rls_watchers) through its own connection, from its own
 * timer, with 5.6.3's contract (subscribe.c): expired entries (expires_offset of grace) go
 * to the caller's handle_expired (unless no_lock: the shutdown pass sends nothing) and leave
 * the table; INSERTDB_FLAG entries are inserted, UPDATEDB_FLAG ones updated, each then
 * marked in step; finally expired rows are deleted. This module's own subscriptions are the
 * engine's and never pass here.
 */
#include <time.h>

#include "../../lib/srdb1/db.h"
#include "../../core/dprint.h"

#include "../pua/hash.h" /* the db_flag values */
#include "gopresence.h"

/* the dialog's key, then the rest of the row (active_watchers' / rls_watchers' columns) */
enum { C_PRES_URI, C_CALLID, C_TO_TAG, C_FROM_TAG, N_KEY,
	C_TO_USER = N_KEY, C_TO_DOMAIN, C_FROM_USER, C_FROM_DOMAIN, C_WATCHER_USER,
	C_WATCHER_DOMAIN, C_EVENT, C_EVENT_ID, C_LOCAL_CSEQ, C_REMOTE_CSEQ, C_EXPIRES, C_STATUS,
	C_REASON, C_RECORD_ROUTE, C_CONTACT, C_LOCAL_CONTACT, C_SOCKET_INFO, C_VERSION,
	C_UPDATED, C_UPDATED_WINFO, C_USER_AGENT, N_COLS };
/* what a refresh or a NOTIFY changes; the expires column comes first, for the delete */
enum { U_EXPIRES, U_STATUS, U_REASON, U_REMOTE_CSEQ, U_LOCAL_CSEQ, U_VERSION, U_CONTACT,
	U_RECORD_ROUTE, N_UPDATE };

static str col_names[N_COLS] = {str_init("presentity_uri"), str_init("callid"),
		str_init("to_tag"), str_init("from_tag"), str_init("to_user"), str_init("to_domain"),
		str_init("from_user"), str_init("from_domain"), str_init("watcher_username"),
		str_init("watcher_domain"), str_init("event"), str_init("event_id"),
		str_init("local_cseq"), str_init("remote_cseq"), str_init("expires"),
		str_init("status"), str_init("reason"), str_init("record_route"),
		str_init("contact"), str_init("local_contact"), str_init("socket_info"),
		str_init("version"), str_init("updated"), str_init("updated_winfo"),
		str_init("user_agent")};
static const int update_col[N_UPDATE] = {C_EXPIRES, C_STATUS, C_REASON, C_REMOTE_CSEQ,
		C_LOCAL_CSEQ, C_VERSION, C_CONTACT, C_RECORD_ROUTE};

#define SETS(v, x) ((v).type = DB1_STR, (v).nul = 0, (v).val.str_val = (x))
#define SETI(v, x) ((v).type = DB1_INT, (v).nul = 0, (v).val.int_val = (x))

static void subs_key(subs_t *s, db_val_t *v)
{
	SETS(v[C_PRES_URI], s->pres_uri);
	SETS(v[C_CALLID], s->callid);
	SETS(v[C_TO_TAG], s->to_tag);
	SETS(v[C_FROM_TAG], s->from_tag);
}

static void subs_changing(subs_t *s, db_val_t *u)
{
	SETI(u[U_EXPIRES], s->expires);
	SETI(u[U_STATUS], s->status);
	SETS(u[U_REASON], s->reason);
	SETI(u[U_REMOTE_CSEQ], s->remote_cseq);
	SETI(u[U_LOCAL_CSEQ], s->local_cseq);
	SETI(u[U_VERSION], s->version);
	SETS(u[U_CONTACT], s->contact);
	SETS(u[U_RECORD_ROUTE], s->record_route);
}

static void subs_row(subs_t *s, db_val_t *v)
{
	subs_key(s, v);
	SETS(v[C_TO_USER], s->to_user);
	SETS(v[C_TO_DOMAIN], s->to_domain);
	SETS(v[C_FROM_USER], s->from_user);
	SETS(v[C_FROM_DOMAIN], s->from_domain);
	SETS(v[C_WATCHER_USER], s->watcher_user);
	SETS(v[C_WATCHER_DOMAIN], s->watcher_domain);
	SETS(v[C_EVENT], s->event->name);
	SETS(v[C_EVENT_ID], s->event_id);
	SETI(v[C_LOCAL_CSEQ], s->local_cseq);
	SETI(v[C_REMOTE_CSEQ], s->remote_cseq);
	SETI(v[C_EXPIRES], s->expires);
	SETI(v[C_STATUS], s->status);
	SETS(v[C_REASON], s->reason);
	SETS(v[C_RECORD_ROUTE], s->record_route);
	SETS(v[C_CONTACT], s->contact);
	SETS(v[C_LOCAL_CONTACT], s->local_contact);
	SETS(v[C_SOCKET_INFO], s->sockinfo_str);
	SETI(v[C_VERSION], s->version);
	SETI(v[C_UPDATED], -1);
	SETI(v[C_UPDATED_WINFO], -1);
	SETS(v[C_USER_AGENT], s->user_agent);
}

/* one entry written as its db_flag asks; marked in step once written */
static void subs_write(db1_con_t *db, db_func_t *dbf, subs_t *s, db_key_t *cols, db_key_t *ucols)
{
	db_val_t v[N_COLS], u[N_UPDATE];

	if(s->db_flag == UPDATEDB_FLAG) {
		subs_key(s, v);
		subs_changing(s, u);
		if(dbf->update(db, cols, 0, v, ucols, u, N_KEY, N_UPDATE) < 0)
			LM_ERR("updating subscription %.*s in the database\n", s->callid.len,
					s->callid.s);
		else
			s->db_flag = NO_UPDATEDB_FLAG;
	} else if(s->db_flag == INSERTDB_FLAG) {
		subs_row(s, v);
		if(dbf->insert(db, cols, v, N_COLS) < 0)
			LM_ERR("inserting subscription %.*s in the database\n", s->callid.len,
					s->callid.s);
		else
			s->db_flag = NO_UPDATEDB_FLAG;
	}
}

void gp_update_db_subs_timer(db1_con_t *db, db_func_t *dbf, shtable_t t, int size, int no_lock,
		handle_expired_func_t handle_expired)
{
	db_key_t cols[N_COLS], ucols[N_UPDATE];
	db_op_t lt = OP_LT;
	db_val_t limit;
	int now = (int)time(NULL), i;
	subs_t *prev, *s;

	for(i = 0; i < N_COLS; i++)
		cols[i] = &col_names[i];
	for(i = 0; i < N_UPDATE; i++)
		ucols[i] = &col_names[update_col[i]];
	for(i = 0; i < size; i++) {
		if(!no_lock)
			lock_get(&t[i].lock);
		for(prev = t[i].entries; (s = prev->next) != NULL;) {
			if((int)s->expires < now - gp_param_expires_offset) {
				if(!no_lock && handle_expired(s) < 0)
					LM_ERR("expiry of subscription %.*s\n", s->callid.len, s->callid.s);
				prev->next = s->next;
				gp_shtable_free_entry(s);
				continue;
			}
			subs_write(db, dbf, s, cols, ucols);
			prev = s;
		}
		if(!no_lock)
			lock_release(&t[i].lock);
	}
	SETI(limit, (int)time(NULL) - gp_param_expires_offset);
	if(dbf->delete(db, &ucols[U_EXPIRES], &lt, &limit, 1) < 0)
		LM_ERR("deleting expired subscriptions from the database\n");
}
