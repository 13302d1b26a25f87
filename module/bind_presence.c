/*
 * bind_presence: the inter-module API (presence_api_t of 5.6.3), which presence_dialoginfo,
 * presence_mwi, presence_reginfo, presence_profile (add_event), presence_xml and rls find with
 * find_export("bind_presence", 1, 0). Every member is set; the subscription table helpers rls
 * uses on its own table (shtable.c, sdialog.c, subs_db_timer.c) run in the caller's process.
 */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/ut.h"

#include "gopresence.h"

/* handle_subscribe with the watcher given as user and domain */
static int api_handle_subscribe(struct sip_msg *msg, str wuser, str wdomain)
{
	char buf[512];
	str uri;

	uri.len = snprintf(buf, sizeof(buf), "sip:%.*s@%.*s", wuser.len, wuser.s, wdomain.len,
			wdomain.s);
	if(uri.len >= (int)sizeof(buf)) {
		LM_ERR("watcher URI too long\n");
		return -1;
	}
	uri.s = buf;
	return engine_handle_request(msg, WT_SUBSCRIBE, &uri);
}

static int api_handle_subscribe0(struct sip_msg *msg)
{
	return engine_handle_request(msg, WT_SUBSCRIBE, NULL);
}

static int api_handle_publish(struct sip_msg *msg, char *sender, char *unused)
{
	return gp_handle_publish(msg, sender, unused);
}

static int api_pres_auth_status(struct sip_msg *msg, str watcher_uri, str pres_uri)
{
	return gp_pres_auth_status(watcher_uri, pres_uri);
}

/* Spheres are not evaluated (enable_sphere_check is accepted without effect); stock answers
 * NULL too when sphere checking is off. */
static char *api_get_sphere(str *pres_uri)
{
	return NULL;
}

/* get_presentity: the presentity's current NOTIFY body for ev, as stock's get_p_notify_body:
 * the stored bodies aggregated by the module's agg_nbody, or the newest one. pkg memory,
 * released with free_presentity. (presence_xml's pres_check_basic/activities call it from
 * the script.) */
static str *api_get_presentity(str pres_uri, pres_ev_t *ev, str *etag, str *contact)
{
	str args[2] = {pres_uri, ev->name}, *out = NULL, **bodies = NULL;
	wire_answer_t a;
	wire_rpc_item_t it;
	struct sip_uri uri;
	size_t off;
	int n = 0;

	if(ev->type == WINFO_TYPE || engine_command("_bodies", args, 2, &a) != 0)
		return NULL;
	if(a.code >= 300)
		goto done;
	for(off = a.rows_off; wire_next_rpc_item(&a.frame, &off, &it) == 1;)
		n += it.tag == WF_RPC_STR;
	if(n == 0 || (bodies = pkg_malloc(n * sizeof(str *))) == NULL)
		goto done;
	n = 0;
	for(off = a.rows_off; wire_next_rpc_item(&a.frame, &off, &it) == 1;) {
		if(it.tag != WF_RPC_STR)
			continue;
		if((bodies[n] = module_body_dup(it.value.v, it.value.len)) == NULL)
			break;
		n++;
	}
	if(n > 0 && ev->agg_nbody) {
		if(parse_uri(pres_uri.s, pres_uri.len, &uri) == 0)
			out = ev->agg_nbody(&uri.user, &uri.host, bodies, n, -1);
	} else if(n > 0 && (out = pkg_malloc(sizeof(str))) != NULL) {
		/* the newest, in its own block: free_presentity frees s, then the str */
		out->len = bodies[n - 1]->len;
		out->s = pkg_malloc(out->len + 1);
		if(out->s == NULL) {
			pkg_free(out);
			out = NULL;
		} else {
			memcpy(out->s, bodies[n - 1]->s, out->len + 1);
		}
	}
	module_bodies_free(bodies, n);
done:
	engine_answer_free(&a);
	return out;
}

/* free_presentity: what get_presentity returned, freed the way it was made (stock
 * free_notify_body) */
static void api_free_presentity(str *body, pres_ev_t *ev)
{
	if(body == NULL)
		return;
	if(body->s) {
		if(ev->agg_nbody && ev->free_body)
			ev->free_body(body->s);
		else
			pkg_free(body->s);
	}
	pkg_free(body);
}

/* stock _api_pres_refresh_watchers */
static int api_pres_refresh_watchers(str *pres, str *event, int type)
{
	return gp_pres_refresh_watchers(pres, event, type, NULL, NULL);
}

/* update_presentity: a publication without a SIP request (pua_json, kazoo), applied by the
 * engine as a PUBLISH of user@realm; the NOTIFYs it causes leave from this process. With
 * new_t or replace, etag is the name the caller gives the publication (pua_json: the Call-ID),
 * and a publication of that name is replaced (stock's replace); else it names the one to
 * refresh or modify, as SIP-If-Match. */
static int api_update_presentity(str *event, str *realm, str *user, str *etag, str *sender,
		str *body, int expires, int new_t, int replace)
{
	wire_buf_t req = {0};
	wire_answer_t a;
	char ruri[512];
	int n, r;

	n = snprintf(ruri, sizeof(ruri), "sip:%.*s@%.*s", user->len, user->s, realm->len, realm->s);
	if(n >= (int)sizeof(ruri)) {
		LM_ERR("update_presentity: presentity URI too long\n");
		return -1;
	}
	wire_begin(&req, WT_PUBLISH, engine_next_id());
	wire_add(&req, WF_RURI, ruri, n);
	wire_add(&req, WF_EVENT, event->s, event->len);
	wire_add_int(&req, WF_EXPIRES, expires);
	wire_add_str(&req, WF_CONTENT_LENGTH, "1");
	if(etag && etag->len)
		wire_add(&req, (new_t || replace) ? WF_SET_ETAG : WF_IF_MATCH, etag->s, etag->len);
	if(body && body->len)
		wire_add(&req, WF_BODY, body->s, body->len);
	if(sender && sender->len)
		wire_add(&req, WF_SCRIPT_PARAM, sender->s, sender->len);
	if(wire_finish(&req) < 0) {
		wire_free(&req);
		return -1;
	}
	r = engine_call(&req, &a);
	wire_free(&req);
	return engine_answer_notify(r, &a, "update_presentity");
}

int bind_presence(presence_api_t *api)
{
	if(api == NULL) {
		LM_ERR("bind_presence: NULL API\n");
		return -1;
	}
	memset(api, 0, sizeof(*api));
	api->add_event = gp_add_event;
	api->contains_event = gp_contains_event;
	api->search_event = gp_search_event;
	api->get_event_list = gp_get_event_list;
	api->update_watchers_status = gp_update_watchers_status;
	api->get_sphere = api_get_sphere;
	api->get_presentity = api_get_presentity;
	api->free_presentity = api_free_presentity;
	api->pres_auth_status = api_pres_auth_status;
	api->handle_publish = api_handle_publish;
	api->handle_subscribe0 = api_handle_subscribe0;
	api->handle_subscribe = api_handle_subscribe;
	api->update_presentity = api_update_presentity;
	api->pres_refresh_watchers = api_pres_refresh_watchers;
	api->new_shtable = gp_new_shtable;
	api->destroy_shtable = gp_destroy_shtable;
	api->insert_shtable = gp_insert_shtable;
	api->search_shtable = gp_search_shtable;
	api->delete_shtable = gp_delete_shtable;
	api->update_shtable = gp_update_shtable;
	api->mem_copy_subs = gp_mem_copy_subs;
	api->update_db_subs_timer = gp_update_db_subs_timer;
	api->extract_sdialog_info = gp_extract_sdialog_info;
	return 0;
}
