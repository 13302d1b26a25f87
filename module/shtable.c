/*
 * The subscription hash table of presence_api_t (new/destroy/insert/search/delete/
 * update_shtable, mem_copy_subs). This module keeps its own subscriptions in the engine; these
 * helpers serve a companion's table (rls's rls_table) in the calling process, with the
 * semantics of 5.6.3's hash.c that rls is written against:
 *   - a table is an shm array of {slot lock, dummy head subs_t}; entries follow head->next;
 *   - search takes no lock (rls takes the slot lock around it and around its own walks);
 *   - an entry is one shm block for the subs_t and its strings, plus separate shm blocks for
 *     contact and record_route, which update replaces (rls frees a removed entry with a
 *     single shm_free of the block, as with stock);
 *   - delete matches the To-tag (subs_remove_match=0, stock's default: the tag is the
 *     table owner's and unique), or Call-ID, To-tag and From-tag (subs_remove_match=1);
 *   - with delete_same_subs=1 insert first drops an entry of the same presentity URI and
 *     Call-ID from the same table. (Stock also deletes that dialog from presence's own
 *     active_watchers, whatever table the entry was in: a bug not copied here, since an rls
 *     dialog is not presence's.)
 */
#include <string.h>
#include <time.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/mem/shm_mem.h"

#include "../pua/hash.h" /* the db_flag values */
#include "gopresence.h"

static int str_eq(const str *a, const str *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

/* the strings a subs_t block carries; contact and record_route only for mem_copy_subs */
#define SUBS_BLOCK_STRINGS(X)                                                           \
	X(pres_uri) X(to_user) X(to_domain) X(from_user) X(from_domain) X(watcher_user)   \
			X(watcher_domain) X(to_tag) X(from_tag) X(callid) X(sockinfo_str)         \
					X(local_contact) X(user_agent) X(event_id) X(reason)

/* s and its strings in one block (pkg or shm); with_dialog_route adds contact and
 * record_route to the block. auth_rules_doc, next and the updated/recv fields are not
 * copied (stock's mem_copy_subs: they belong to the caller's moment, not the dialog). */
static subs_t *subs_block(subs_t *s, int mem_type, int with_dialog_route)
{
	subs_t *d;
	char *p;
	int size = sizeof(subs_t) + 1;

#define ADD_LEN(f) size += s->f.len;
	SUBS_BLOCK_STRINGS(ADD_LEN)
#undef ADD_LEN
	if(with_dialog_route)
		size += s->contact.len + s->record_route.len;
	d = (mem_type & PKG_MEM_TYPE) ? pkg_malloc(size) : shm_malloc(size);
	if(d == NULL) {
		LM_ERR("no more %s memory for a subscription copy\n",
				(mem_type & PKG_MEM_TYPE) ? "pkg" : "shm");
		return NULL;
	}
	memset(d, 0, size);
	p = (char *)(d + 1);
#define COPY_STR(f)                       \
	if(s->f.s) {                          \
		d->f.s = p;                       \
		memcpy(p, s->f.s, s->f.len);      \
		d->f.len = s->f.len;              \
		p += s->f.len;                    \
	}
	SUBS_BLOCK_STRINGS(COPY_STR)
	if(with_dialog_route) {
		COPY_STR(contact)
		COPY_STR(record_route)
	}
#undef COPY_STR
	d->event = s->event;
	d->local_cseq = s->local_cseq;
	d->remote_cseq = s->remote_cseq;
	d->status = s->status;
	d->version = s->version;
	d->send_on_cback = s->send_on_cback;
	d->expires = s->expires;
	d->db_flag = s->db_flag;
	d->flags = s->flags;
	return d;
}

subs_t *gp_mem_copy_subs(subs_t *s, int mem_type)
{
	return subs_block(s, mem_type, 1);
}

/* an shm copy of v into *dst (old block freed); 0 ok, -1 out of memory */
static int shm_replace(str *dst, str *v)
{
	char *n = shm_malloc(v->len + 1);

	if(n == NULL) {
		LM_ERR("no more shm memory\n");
		return -1;
	}
	if(v->len)
		memcpy(n, v->s, v->len);
	n[v->len] = 0;
	if(dst->s)
		shm_free(dst->s);
	dst->s = n;
	dst->len = v->len;
	return 0;
}

/* a table entry's memory: its separate contact and record_route, then the block */
void gp_shtable_free_entry(subs_t *s)
{
	if(s->contact.s)
		shm_free(s->contact.s);
	if(s->record_route.s)
		shm_free(s->record_route.s);
	shm_free(s);
}

shtable_t gp_new_shtable(int size)
{
	shtable_t t;
	int i;

	t = shm_malloc(size * sizeof(subs_entry_t));
	if(t == NULL) {
		LM_ERR("no more shm memory for a %d-slot subscription table\n", size);
		return NULL;
	}
	memset(t, 0, size * sizeof(subs_entry_t));
	for(i = 0; i < size; i++) {
		t[i].entries = shm_malloc(sizeof(subs_t));
		if(t[i].entries == NULL || lock_init(&t[i].lock) == NULL) {
			LM_ERR("subscription table slot %d: no shm memory or lock\n", i);
			if(t[i].entries)
				shm_free(t[i].entries);
			while(--i >= 0) {
				lock_destroy(&t[i].lock);
				shm_free(t[i].entries);
			}
			shm_free(t);
			return NULL;
		}
		memset(t[i].entries, 0, sizeof(subs_t));
	}
	return t;
}

void gp_destroy_shtable(shtable_t t, int size)
{
	subs_t *s, *next;
	int i;

	if(t == NULL)
		return;
	for(i = 0; i < size; i++) {
		lock_destroy(&t[i].lock);
		for(s = t[i].entries->next; s; s = next) {
			next = s->next;
			gp_shtable_free_entry(s);
		}
		shm_free(t[i].entries);
	}
	shm_free(t);
}

/* no lock: the caller holds the slot's (stock's contract, which rls relies on) */
subs_t *gp_search_shtable(shtable_t t, str callid, str to_tag, str from_tag, unsigned int hash)
{
	subs_t *s;

	for(s = t[hash].entries ? t[hash].entries->next : NULL; s; s = s->next)
		if(str_eq(&s->callid, &callid) && str_eq(&s->to_tag, &to_tag)
				&& str_eq(&s->from_tag, &from_tag))
			return s;
	return NULL;
}

/* unlinks and frees the first entry of the slot (lock held) that match accepts for subs;
 * its local_cseq + 1, or -1 when there is none */
static int remove_first(shtable_t t, unsigned int hash, subs_t *subs,
		int (*match)(subs_t *entry, subs_t *subs))
{
	subs_t *prev, *s;
	int ret;

	for(prev = t[hash].entries; (s = prev->next) != NULL; prev = s) {
		if(match(s, subs)) {
			ret = s->local_cseq + 1;
			prev->next = s->next;
			gp_shtable_free_entry(s);
			return ret;
		}
	}
	return -1;
}

static int same_uri_and_callid(subs_t *e, subs_t *subs)
{
	return str_eq(&e->pres_uri, &subs->pres_uri) && str_eq(&e->callid, &subs->callid);
}

static int same_dialog(subs_t *e, subs_t *subs)
{
	return str_eq(&e->to_tag, &subs->to_tag)
		   && (!gp_param_subs_remove_match
				   || (str_eq(&e->callid, &subs->callid) && str_eq(&e->from_tag, &subs->from_tag)));
}

/* a copy of subs at the head of its slot; expires becomes absolute (now + subs->expires) */
int gp_insert_shtable(shtable_t t, unsigned int hash, subs_t *subs)
{
	subs_t *e = subs_block(subs, SHM_MEM_TYPE, 0);

	if(e == NULL)
		return -1;
	if(shm_replace(&e->contact, &subs->contact) < 0
			|| shm_replace(&e->record_route, &subs->record_route) < 0) {
		gp_shtable_free_entry(e);
		return -1;
	}
	e->expires += (int)time(NULL);
	lock_get(&t[hash].lock);
	if(gp_param_delete_same_subs && remove_first(t, hash, subs, same_uri_and_callid) >= 0)
		LM_NOTICE("another entry of %.*s with Call-ID %.*s dropped (delete_same_subs)\n",
				subs->pres_uri.len, subs->pres_uri.s, subs->callid.len, subs->callid.s);
	e->next = t[hash].entries->next;
	t[hash].entries->next = e;
	lock_release(&t[hash].lock);
	return 0;
}

/* removes the entry of subs's dialog (To-tag, or all three ids with subs_remove_match=1):
 * its local_cseq + 1 (the CSeq of the NOTIFY still to send, as stock returns it), or -1 */
int gp_delete_shtable(shtable_t t, unsigned int hash, subs_t *subs)
{
	int ret;

	lock_get(&t[hash].lock);
	ret = remove_first(t, hash, subs, same_dialog);
	lock_release(&t[hash].lock);
	return ret;
}

/* REMOTE_TYPE: a refresh from the watcher (expires, its CSeq). LOCAL_TYPE: a NOTIFY about to
 * leave, so subs gets the entry's next CSeq and version. Both take the dialog's current
 * contact, route, status and event, and hand back the entry's db_flag, marking the entry
 * for a database update when it was in step (stock's hash.c, which rls's timer relies on). */
int gp_update_shtable(shtable_t t, unsigned int hash, subs_t *subs, int type)
{
	subs_t *s;
	int ret = 0;

	lock_get(&t[hash].lock);
	s = gp_search_shtable(t, subs->callid, subs->to_tag, subs->from_tag, hash);
	if(s == NULL) {
		lock_release(&t[hash].lock);
		LM_DBG("subscription not in the table\n");
		return -1;
	}
	if(type & REMOTE_TYPE) {
		s->expires = subs->expires + (int)time(NULL);
		s->remote_cseq = subs->remote_cseq;
	} else {
		subs->local_cseq = ++s->local_cseq;
		subs->version = ++s->version;
	}
	if((!str_eq(&s->contact, &subs->contact) && shm_replace(&s->contact, &subs->contact) < 0)
			|| shm_replace(&s->record_route, &subs->record_route) < 0)
		ret = -1;
	if(ret == 0) {
		s->status = subs->status;
		s->event = subs->event;
		subs->db_flag = s->db_flag;
		if(s->db_flag & NO_UPDATEDB_FLAG)
			s->db_flag = UPDATEDB_FLAG;
	}
	lock_release(&t[hash].lock);
	return ret;
}
