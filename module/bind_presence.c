/*
 * bind_presence: the inter-module API (presence_api_t of 5.6.3), which presence_dialoginfo,
 * presence_mwi, presence_reginfo, presence_profile (add_event), presence_xml and rls find with
 * find_export("bind_presence", 1, 0). Every member set here works; the members left NULL are
 * the ones this module does not provide yet (watcher authorization, the subscription hash
 * table helpers rls uses, presentity access for presence_xml's pres_check_* functions): a
 * module that needs one refuses to start, naming it, instead of failing later.
 */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/parse_uri.h"

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

/* Spheres are not evaluated (enable_sphere_check is accepted without effect); stock answers
 * NULL too when sphere checking is off. */
static char *api_get_sphere(str *pres_uri)
{
	return NULL;
}

/* pres_auth_status: the engine authorizes every watcher unless a C module registered
 * "presence" with rules (presence_xml); then its rules decide, as stock (presence.c). */
static int api_pres_auth_status(struct sip_msg *msg, str watcher_uri, str pres_uri)
{
	pres_ev_t *ev = gp_event_named("presence", 8);
	struct sip_uri uri;
	str *doc = NULL;
	subs_t subs;
	int status;

	if(ev == NULL || ev->get_rules_doc == NULL)
		return ACTIVE_STATUS;
	if(parse_uri(pres_uri.s, pres_uri.len, &uri) < 0) {
		LM_ERR("pres_auth_status: bad presentity URI \"%.*s\"\n", pres_uri.len, pres_uri.s);
		return -1;
	}
	if(ev->get_rules_doc(&uri.user, &uri.host, &doc) < 0 || doc == NULL || doc->s == NULL)
		return PENDING_STATUS; /* no rules document */
	status = -1;
	if(parse_uri(watcher_uri.s, watcher_uri.len, &uri) < 0) {
		LM_ERR("pres_auth_status: bad watcher URI \"%.*s\"\n", watcher_uri.len, watcher_uri.s);
	} else {
		memset(&subs, 0, sizeof(subs));
		subs.watcher_user = uri.user;
		subs.watcher_domain = uri.host;
		subs.pres_uri = pres_uri;
		subs.auth_rules_doc = doc;
		if(ev->get_auth_status(&subs) < 0)
			LM_ERR("pres_auth_status: the rules document gave no status\n");
		else if(subs.reason.len == 12 && strncmp(subs.reason.s, "polite-block", 12) == 0)
			status = POLITE_BLOCK_STATUS;
		else
			status = subs.status;
	}
	pkg_free(doc->s);
	pkg_free(doc);
	return status;
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
	api->get_sphere = api_get_sphere;
	api->pres_auth_status = api_pres_auth_status;
	api->handle_publish = api_handle_publish;
	api->handle_subscribe0 = api_handle_subscribe0;
	api->handle_subscribe = api_handle_subscribe;
	return 0;
}
