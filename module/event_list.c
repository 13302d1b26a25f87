/*
 * Events registered by Kamailio C modules through bind_presence's add_event
 * (presence_dialoginfo's "dialog", presence_mwi's "message-summary", ...), kept the way stock's
 * event_list.c keeps them, because those modules and rls read pres_ev_t themselves: one shm
 * list, newest first, filled in the main process during mod_init (before any fork), so every
 * process sees the same list. The engine serves these events (state, storage, expiry, fan-out);
 * their callbacks run here, in C: evs_publ_handl / evs_subs_handl in the worker before the
 * engine sees the request, agg_nbody / aux_body_processing when a NOTIFY leaves (notify.c).
 */
#include <string.h>
#include <strings.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/parser/parse_event.h"
#include "../../core/parser/parse_param.h"

#include "gopresence.h"

static evlist_t *evlist;

/* a param list copied into one shm block per param (stock's layout: freeable one by one) */
static param_t *copy_params_shm(param_t *p)
{
	param_t *head = NULL, **tail = &head, *c;

	for(; p; p = p->next) {
		c = shm_malloc(sizeof(param_t) + p->name.len + p->body.len);
		if(c == NULL) {
			SHM_MEM_ERROR;
			return NULL; /* the event is refused: what was copied stays (start-up only) */
		}
		memset(c, 0, sizeof(param_t));
		c->name.s = (char *)(c + 1);
		c->name.len = p->name.len;
		memcpy(c->name.s, p->name.s, p->name.len);
		if(p->body.s) {
			c->body.s = c->name.s + c->name.len;
			c->body.len = p->body.len;
			memcpy(c->body.s, p->body.s, p->body.len);
		}
		*tail = c;
		tail = &c->next;
	}
	return head;
}

static event_t *copy_event_shm(event_t *e)
{
	event_t *c = shm_malloc(sizeof(event_t) + e->name.len);

	if(c == NULL) {
		SHM_MEM_ERROR;
		return NULL;
	}
	memset(c, 0, sizeof(event_t));
	c->type = e->type;
	c->name.s = (char *)(c + 1);
	c->name.len = e->name.len;
	memcpy(c->name.s, e->name.s, e->name.len);
	if(e->params.list && (c->params.list = copy_params_shm(e->params.list)) == NULL)
		return NULL;
	return c;
}

static char *shm_strdup_str(str *s)
{
	char *c = shm_malloc(s->len + 1);
	if(c == NULL) {
		SHM_MEM_ERROR;
		return NULL;
	}
	memcpy(c, s->s, s->len);
	c[s->len] = 0;
	return c;
}

/* every parameter of a is in b with the same value (stock search_event_params) */
static int params_in(event_t *a, event_t *b)
{
	param_t *pa, *pb;

	for(pa = a->params.list; pa; pa = pa->next) {
		for(pb = b->params.list; pb; pb = pb->next)
			if(pb->name.len == pa->name.len && strncmp(pb->name.s, pa->name.s, pa->name.len) == 0
					&& ((pb->body.s == NULL && pa->body.s == NULL)
							|| (pb->body.s && pa->body.s && pb->body.len == pa->body.len
									&& strncmp(pb->body.s, pa->body.s, pa->body.len) == 0)))
				break;
		if(pb == NULL)
			return 0;
	}
	return 1;
}

/* stock 5.6.3 matching: same known type (or same name, case-insensitively) and the same
 * parameter set both ways, so rls and the companions see the events they expect */
pres_ev_t *gp_search_event(event_t *e)
{
	pres_ev_t *ev;

	for(ev = evlist ? evlist->events : NULL; ev; ev = ev->next)
		if(((ev->evp->type == e->type && e->type != EVENT_OTHER)
				   || (ev->evp->name.len == e->name.len
						   && strncasecmp(ev->evp->name.s, e->name.s, e->name.len) == 0))
				&& params_in(e, ev->evp) && params_in(ev->evp, e))
			return ev;
	return NULL;
}

pres_ev_t *gp_contains_event(str *name, event_t *parsed)
{
	event_t local, *pe = parsed ? parsed : &local;
	pres_ev_t *ev;

	memset(pe, 0, sizeof(event_t));
	if(event_parser(name->s, name->len, pe) < 0) {
		LM_ERR("cannot parse event \"%.*s\"\n", name->len, name->s);
		return NULL;
	}
	ev = gp_search_event(pe);
	if(parsed == NULL)
		free_params(pe->params.list); /* the caller who passed one frees it (stock) */
	return ev;
}

int gp_add_event(pres_ev_t *event)
{
	event_t parsed;
	pres_ev_t *ev;
	str peer;
	char *dot, buf[64];

	if(event->name.s == NULL || event->name.len == 0 || event->content_type.s == NULL
			|| event->content_type.len == 0) {
		LM_ERR("add_event: an event needs a name and a content type\n");
		return -1;
	}
	if(evlist == NULL) {
		evlist = shm_malloc(sizeof(evlist_t));
		if(evlist == NULL) {
			SHM_MEM_ERROR;
			return -1;
		}
		memset(evlist, 0, sizeof(evlist_t));
	}
	if(gp_contains_event(&event->name, &parsed)) {
		free_params(parsed.params.list);
		return 0; /* already registered: stock does nothing either */
	}
	if(event->req_auth && (event->get_auth_status == NULL || event->get_rules_doc == NULL)) {
		LM_ERR("add_event \"%.*s\": req_auth without get_auth_status and get_rules_doc\n",
				event->name.len, event->name.s);
		goto error;
	}
	if(parsed.name.len + 6 > (int)sizeof(buf)) {
		LM_ERR("add_event: event name too long: %.*s\n", event->name.len, event->name.s);
		goto error;
	}

	ev = shm_malloc(sizeof(pres_ev_t));
	if(ev == NULL) {
		SHM_MEM_ERROR;
		goto error;
	}
	/* the callbacks, flags and expiry as the module set them */
	*ev = *event;
	ev->name.s = shm_strdup_str(&event->name);
	ev->content_type.s = shm_strdup_str(&event->content_type);
	ev->evp = copy_event_shm(&parsed);
	if(ev->name.s == NULL || ev->content_type.s == NULL || ev->evp == NULL)
		goto error;
	/* stock decides the type from the name, whatever the module set: "x.winfo" is the
	 * watcher info (RFC 3857) of "x", and the two name each other as wipeer */
	dot = memchr(parsed.name.s, '.', parsed.name.len);
	if(dot && parsed.name.s + parsed.name.len - dot > 5 && strncmp(dot + 1, "winfo", 5) == 0) {
		ev->type = WINFO_TYPE;
		peer.s = parsed.name.s;
		peer.len = dot - parsed.name.s;
	} else {
		ev->type = PUBL_TYPE;
		memcpy(buf, parsed.name.s, parsed.name.len);
		memcpy(buf + parsed.name.len, ".winfo", 6);
		peer.s = buf;
		peer.len = parsed.name.len + 6;
	}
	ev->wipeer = gp_contains_event(&peer, NULL);
	if(ev->wipeer)
		ev->wipeer->wipeer = ev;
	ev->next = evlist->events;
	evlist->events = ev;
	evlist->ev_count++;
	free_params(parsed.params.list);
	LM_DBG("event %.*s registered by a module\n", event->name.len, event->name.s);
	return 0;

error:
	free_params(parsed.params.list);
	return -1;
}

int gp_get_event_list(str **list)
{
	pres_ev_t *ev;
	str *l;
	int n = 0;

	*list = NULL;
	if(evlist == NULL || evlist->ev_count == 0)
		return 0;
	for(ev = evlist->events; ev; ev = ev->next)
		n += ev->name.len + 2;
	/* two blocks, as stock: its callers (rls) free l->s, then l */
	l = pkg_malloc(sizeof(str));
	if(l == NULL || (l->s = pkg_malloc(n)) == NULL) {
		PKG_MEM_ERROR;
		if(l)
			pkg_free(l);
		return -1;
	}
	l->len = 0;
	for(ev = evlist->events; ev; ev = ev->next) {
		if(l->len) {
			memcpy(l->s + l->len, ", ", 2);
			l->len += 2;
		}
		memcpy(l->s + l->len, ev->name.s, ev->name.len);
		l->len += ev->name.len;
	}
	*list = l;
	return 0;
}

pres_ev_t *gp_event_of_msg(struct sip_msg *msg)
{
	if(evlist == NULL || msg->event == NULL || msg->event->body.len == 0)
		return NULL;
	if(msg->event->parsed == NULL && parse_event(msg->event) < 0)
		return NULL; /* the engine answers the unparsable Event */
	return gp_search_event((event_t *)msg->event->parsed);
}

pres_ev_t *gp_event_named(const char *name, int len)
{
	pres_ev_t *ev;

	for(ev = evlist ? evlist->events : NULL; ev; ev = ev->next)
		if(ev->name.len == len && strncasecmp(ev->name.s, name, len) == 0)
			return ev;
	return NULL;
}

/* appends one "module_event=" line per event, oldest first: the engine prepends as it
 * registers, so its Allow-Events order ends up stock's (newest first) */
static int events_config(pres_ev_t *ev, char **text, int *len)
{
	char *p;
	int n;

	if(ev == NULL)
		return 0;
	if(events_config(ev->next, text, len) < 0)
		return -1;
	n = 13 + ev->name.len + 1 + ev->content_type.len + 1 + 10 + 1 + 3 + 1 + 5 + 1 + 4 + 1 + 4 + 1;
	p = pkg_reallocxf(*text, *len + n + 1);
	if(p == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	*text = p;
	*len += snprintf(p + *len, n + 1, "module_event=%.*s\t%.*s\t%u\t%s\t%s\t%s\t%s\n",
			ev->name.len, ev->name.s, ev->content_type.len, ev->content_type.s,
			ev->default_expires, ev->agg_nbody ? "agg" : "-",
			ev->type == WINFO_TYPE ? "winfo" : "publ", ev->etag_not_new ? "keep" : "new",
			ev->req_auth ? "auth" : "open");
	return 0;
}

int gp_module_events_config(char **text, int *len)
{
	return events_config(evlist ? evlist->events : NULL, text, len);
}
