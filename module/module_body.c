/*
 * The NOTIFY body of an event a C module registered (event_list.c): the engine hands over
 * what stock's notify.c would pass to the module's callbacks, and they run here, in this
 * process's C thread with its pkg memory: agg_nbody once per fan-out (the cache holds its
 * result while a frame's NOTIFYs for one presentity go out), aux_body_processing per watcher
 * (presence_dialoginfo's per-watcher version), then Content-Type when a body remains.
 */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/parse_uri.h"

#include "gopresence.h"

static void free_module_str(str *s, free_body_t *free_fn)
{
	if(s == NULL)
		return;
	if(s->s) {
		if(free_fn)
			free_fn(s->s);
		else
			pkg_free(s->s);
	}
	pkg_free(s);
}

static void free_rules(module_body_cache_t *c)
{
	if(c->rules) {
		if(c->rules->s)
			pkg_free(c->rules->s);
		pkg_free(c->rules);
	}
	c->rules = NULL;
	c->rules_ev = NULL;
	c->rules_for.s = NULL;
	c->rules_for.len = 0;
}

void module_body_cache_clear(module_body_cache_t *c)
{
	if(c->agg)
		free_module_str(c->agg, c->ev ? c->ev->free_body : NULL);
	free_rules(c);
	memset(c, 0, sizeof(*c));
}

/* the presentity's rules document, read once per fan-out (stock: once per publ_notify) */
static str *rules_of(module_body_cache_t *c, pres_ev_t *ev, const wire_notify_t *n)
{
	str presuri = WSTR(n->pres_uri);
	struct sip_uri uri;

	if(c->rules_ev == ev && c->rules_for.len == presuri.len
			&& memcmp(c->rules_for.s, presuri.s, presuri.len) == 0)
		return c->rules;
	free_rules(c);
	c->rules_ev = ev;
	c->rules_for = presuri;
	if(parse_uri(presuri.s, presuri.len, &uri) < 0
			|| ev->get_rules_doc(&uri.user, &uri.host, &c->rules) < 0) {
		LM_ERR("NOTIFY for %.*s: its %.*s rules could not be read\n", presuri.len, presuri.s,
				ev->name.len, ev->name.s);
		c->rules = NULL;
	}
	return c->rules;
}

/* apply_auth_nbody: what this watcher may see of body (presence_xml's pres-rules transformations) */
static str *authorized_body(pres_ev_t *ev, str *rules, str *body, const wire_notify_t *n)
{
	struct sip_uri wuri;
	str remote = WSTR(n->remote_uri), *final = NULL;
	subs_t subs;

	memset(&subs, 0, sizeof(subs));
	if(parse_uri(remote.s, remote.len, &wuri) == 0) {
		subs.watcher_user = wuri.user;
		subs.watcher_domain = wuri.host;
		subs.from_user = wuri.user;
		subs.from_domain = wuri.host;
	}
	subs.pres_uri = WSTR(n->pres_uri);
	subs.event = ev;
	subs.status = ACTIVE_STATUS;
	subs.auth_rules_doc = rules;
	if(ev->apply_auth_nbody(body, &subs, &final) < 0) {
		LM_ERR("NOTIFY for %.*s: the rules could not be applied\n", subs.pres_uri.len, subs.pres_uri.s);
		return NULL;
	}
	return final;
}

/* agg_nbody over the stored bodies in n->body_parts (each copied NUL-terminated into pkg) */
static str *aggregate(pres_ev_t *ev, const wire_notify_t *n)
{
	wire_frame_t parts = {0};
	wire_field_t fl;
	struct sip_uri uri;
	str **bodies = NULL, presuri = WSTR(n->pres_uri), *out = NULL;
	int count = 0, off_index = -1;
	size_t off = 0;

	if(parse_uri(presuri.s, presuri.len, &uri) < 0) {
		LM_ERR("NOTIFY: bad presentity URI \"%.*s\" from the engine\n", presuri.len, presuri.s);
		return NULL;
	}
	parts.fields = (const unsigned char *)n->body_parts.v;
	parts.fields_len = n->body_parts.len;
	while(wire_next(&parts, &off, &fl) == 1)
		count += fl.tag == WF_N_BODY_PART;
	if(count == 0)
		return NULL;
	bodies = pkg_malloc(count * sizeof(str *));
	if(bodies == NULL) {
		PKG_MEM_ERROR;
		return NULL;
	}
	count = 0;
	off = 0;
	while(wire_next(&parts, &off, &fl) == 1) {
		if(fl.tag == WF_N_OFF_INDEX) {
			str v = WSTR(fl);
			if(str2sint(&v, &off_index) < 0)
				off_index = -1;
			continue;
		}
		if(fl.tag != WF_N_BODY_PART)
			continue;
		if((bodies[count] = module_body_dup(fl.v, fl.len)) == NULL)
			goto done;
		count++;
	}
	out = ev->agg_nbody(&uri.user, &uri.host, bodies, count, off_index);
done:
	module_bodies_free(bodies, count);
	return out;
}

str *module_body_dup(const char *v, size_t len)
{
	str *b = pkg_malloc(sizeof(str) + len + 1);

	if(b == NULL) {
		PKG_MEM_ERROR;
		return NULL;
	}
	b->s = (char *)(b + 1);
	b->len = len;
	memcpy(b->s, v, len);
	b->s[len] = 0;
	return b;
}

void module_bodies_free(str **bodies, int n)
{
	int i;

	for(i = 0; i < n; i++)
		pkg_free(bodies[i]);
	pkg_free(bodies);
}

/* the subscription as aux_body_processing sees it: what the engine sent (version first) */
static void fill_subs(subs_t *subs, pres_ev_t *ev, const wire_notify_t *n)
{
	str v = WSTR(n->version), headers = WSTR(n->headers);
	int version = 0;

	memset(subs, 0, sizeof(*subs));
	str2sint(&v, &version);
	subs->version = version;
	subs->event = ev;
	subs->pres_uri = WSTR(n->pres_uri);
	subs->callid = WSTR(n->callid);
	subs->to_tag = WSTR(n->local_tag);
	subs->from_tag = WSTR(n->remote_tag);
	subs->contact = WSTR(n->target);
	subs->status = ACTIVE_STATUS;
	if(headers.s && memmem(headers.s, headers.len, "Subscription-State: terminated", 30))
		subs->status = TERMINATED_STATUS;
	else if(headers.s && memmem(headers.s, headers.len, "Subscription-State: pending", 27))
		subs->status = PENDING_STATUS;
}

int module_body_finish(const wire_notify_t *n, module_body_cache_t *cache, module_notify_t *out)
{
	pres_ev_t *ev = gp_event_named(n->event.v, n->event.len);
	str *body = NULL;
	subs_t subs;
	int hlen;

	memset(out, 0, sizeof(*out));
	if(ev == NULL) {
		LM_ERR("NOTIFY for event %.*s, which no module registered\n", (int)n->event.len,
				n->event.v);
		return -1;
	}
	if(n->body_parts.v && ev->agg_nbody) {
		if(cache->ev != ev || cache->parts.len != (int)n->body_parts.len
				|| memcmp(cache->parts.s, n->body_parts.v, n->body_parts.len) != 0) {
			module_body_cache_clear(cache);
			cache->ev = ev;
			cache->parts = WSTR(n->body_parts);
			cache->agg = aggregate(ev, n);
		}
		body = cache->agg;
	} else if(n->body.v) {
		out->copy.s = pkg_malloc(n->body.len + 1); /* NUL-terminated for the module */
		if(out->copy.s == NULL) {
			PKG_MEM_ERROR;
			return -1;
		}
		memcpy(out->copy.s, n->body.v, n->body.len);
		out->copy.s[n->body.len] = 0;
		out->copy.len = n->body.len;
		body = &out->copy;
	}
	if(ev->req_auth && ev->apply_auth_nbody && body && body->s && rules_of(cache, ev, n)) {
		out->authorized = authorized_body(ev, cache->rules, body, n);
		if(out->authorized)
			body = out->authorized;
	}
	if(ev->aux_body_processing && body && body->s) {
		fill_subs(&subs, ev, n);
		out->aux = ev->aux_body_processing(&subs, body);
		if(out->aux)
			body = out->aux;
	}
	out->ev = ev;
	out->body = (body && body->s) ? *body : (str)STR_NULL;
	out->has_body = body && body->s;

	hlen = n->headers.len + (out->has_body ? 16 + n->content_type.len : 0);
	out->headers.s = pkg_malloc(hlen + 1);
	if(out->headers.s == NULL) {
		PKG_MEM_ERROR;
		module_notify_release(out);
		return -1;
	}
	memcpy(out->headers.s, n->headers.v, n->headers.len);
	out->headers.len = n->headers.len;
	if(out->has_body)
		out->headers.len += snprintf(out->headers.s + out->headers.len, hlen + 1 - out->headers.len,
				"Content-Type: %.*s\r\n", (int)n->content_type.len, n->content_type.v);
	return 0;
}

void module_notify_release(module_notify_t *m)
{
	if(m->aux)
		free_module_str(m->aux, m->ev ? m->ev->aux_free_body : NULL);
	if(m->authorized)
		free_module_str(m->authorized, m->ev ? m->ev->free_body : NULL);
	if(m->copy.s)
		pkg_free(m->copy.s);
	if(m->headers.s)
		pkg_free(m->headers.s);
	memset(m, 0, sizeof(*m));
}
