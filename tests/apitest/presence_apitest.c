/*
 * presence_apitest: a TEST-ONLY Kamailio module (built into build/testmodules, never
 * installed) that calls bind_presence's API members no Debian module reaches in the
 * integration suite, so the suite can run the same calls against stock presence.so and ours.
 *
 * apitest(cmd) runs one command and adds its result to the reply as "X-Result: ..." (the
 * script then answers with sl_send_reply). cmd is words separated by spaces:
 *   sdialog [contact]        extract_sdialog_info of this SUBSCRIBE (scontact = contact or
 *                            empty): "rc=.. contact=.. expires=.."
 *   shtable                  new/insert/search/delete/destroy_shtable and mem_copy_subs on
 *                            a table of this module's (as rls uses them, delete_same_subs and
 *                            subs_remove_match applying)
 *   events                   get_event_list
 *   presentity URI           get_presentity of "presence" (the body on one line), free_presentity
 *   sphere URI               get_sphere
 *   auth WATCHER PRESENTITY  pres_auth_status
 *   refresh URI EVENT TYPE   pres_refresh_watchers
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/data_lump_rpl.h"
#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/mod_fix.h"
#include "../../core/sr_module.h"
#include "../presence/bind_presence.h"
#include "../presence/hash.h"

MODULE_VERSION

static presence_api_t api;
static char result[2048];

static int mod_init(void)
{
	bind_presence_t bind = (bind_presence_t)find_export("bind_presence", 1, 0);

	if(bind == NULL || bind(&api) < 0) {
		LM_ERR("presence_apitest: no bind_presence\n");
		return -1;
	}
	return 0;
}

#define SAY(...) snprintf(result, sizeof(result), __VA_ARGS__)
#define SAY_MORE(...) \
	snprintf(result + strlen(result), sizeof(result) - strlen(result), __VA_ARGS__)

static str word(char **p)
{
	str w;

	while(**p == ' ')
		(*p)++;
	w.s = *p;
	while(**p && **p != ' ')
		(*p)++;
	w.len = *p - w.s;
	return w;
}

static pres_ev_t *presence_event(void)
{
	str name = str_init("presence");
	return api.contains_event(&name, NULL);
}

static void sdialog(struct sip_msg *msg, str scontact)
{
	subs_t subs;
	str wuser = str_init("watcher"), wdomain = str_init("127.0.0.1");
	int gen = 0, rc;

	memset(&subs, 0, sizeof(subs));
	subs.event = presence_event();
	rc = api.extract_sdialog_info(&subs, msg, 3600, &gen, scontact, wuser, wdomain);
	SAY("rc=%d contact=%.*s expires=%u", rc, subs.local_contact.len, subs.local_contact.s,
			subs.expires);
	if(rc == 0 && scontact.len == 0)
		pkg_free(subs.local_contact.s);
	if(rc == 0 && subs.record_route.s)
		pkg_free(subs.record_route.s);
}

/* an entry of the test table: one dialog of sip:alice@127.0.0.1 */
static subs_t entry(char *callid, char *to_tag, char *from_tag, int cseq)
{
	subs_t s;

	memset(&s, 0, sizeof(s));
	s.pres_uri.s = "sip:alice@127.0.0.1";
	s.pres_uri.len = strlen(s.pres_uri.s);
	s.callid.s = callid;
	s.callid.len = strlen(callid);
	s.to_tag.s = to_tag;
	s.to_tag.len = strlen(to_tag);
	s.from_tag.s = from_tag;
	s.from_tag.len = strlen(from_tag);
	s.contact.s = "sip:watcher@127.0.0.1:5070";
	s.contact.len = strlen(s.contact.s);
	s.local_cseq = cseq;
	s.expires = 60;
	s.event = presence_event();
	return s;
}

static const char *found(shtable_t t, subs_t *s)
{
	return api.search_shtable(t, s->callid, s->to_tag, s->from_tag, 1) ? "yes" : "no";
}

/* a dialog C, then two dialogs of another Call-ID (A, then B) in slot 1; what is found, and
 * what deleting B with another Call-ID, with another From-tag, then by its own ids, then A,
 * returns (local_cseq + 1, or -1) */
static void shtable(void)
{
	subs_t a = entry("c1", "ta", "fa", 5), b = entry("c1", "tb", "fb", 7);
	subs_t c = entry("c3", "tc", "fc", 9);
	subs_t b_callid = entry("c2", "tb", "fb", 0), b_ftag = entry("c1", "tb", "other", 0);
	subs_t *s, *copy;
	shtable_t t = api.new_shtable(4);

	if(t == NULL) {
		SAY("new_shtable failed");
		return;
	}
	if(api.insert_shtable(t, 1, &c) < 0 || api.insert_shtable(t, 1, &a) < 0
			|| api.insert_shtable(t, 1, &b) < 0) {
		SAY("insert_shtable failed");
		api.destroy_shtable(t, 4);
		return;
	}
	SAY("C=%s A=%s B=%s", found(t, &c), found(t, &a), found(t, &b));
	s = api.search_shtable(t, b.callid, b.to_tag, b.from_tag, 1);
	if(s) {
		SAY_MORE(" expires=%s", abs(s->expires - (int)time(NULL) - 60) <= 1 ? "abs" : "rel");
		copy = api.mem_copy_subs(s, PKG_MEM_TYPE);
		SAY_MORE(" copy=%s", copy && copy->contact.len == b.contact.len
						&& memcmp(copy->contact.s, b.contact.s, b.contact.len) == 0
						&& copy->local_cseq == 7 && copy->callid.len == 2 ? "same" : "differs");
		if(copy)
			pkg_free(copy);
	}
	SAY_MORE(" del_B_other_callid=%d", api.delete_shtable(t, 1, &b_callid));
	SAY_MORE(" del_B_other_ftag=%d", api.delete_shtable(t, 1, &b_ftag));
	SAY_MORE(" del_B=%d", api.delete_shtable(t, 1, &b));
	SAY_MORE(" del_A=%d", api.delete_shtable(t, 1, &a));
	api.destroy_shtable(t, 4);
}

static void presentity(str uri)
{
	pres_ev_t *ev = presence_event();
	str *body = ev ? api.get_presentity(uri, ev, NULL, NULL) : NULL;
	int i, n = 0;

	if(body == NULL || body->s == NULL) {
		SAY("none");
	} else {
		for(i = 0; i < body->len && n < (int)sizeof(result) - 1; i++)
			if(body->s[i] != '\r' && body->s[i] != '\n')
				result[n++] = body->s[i];
		result[n] = 0;
	}
	if(body)
		api.free_presentity(body, ev);
}

static int w_apitest(struct sip_msg *msg, char *cmd_param, char *unused)
{
	char buf[512], *p = buf, hdr[sizeof(result) + 16];
	str cmd, w, a1, a2;

	if(fixup_get_svalue(msg, (gparam_t *)cmd_param, &cmd) < 0 || cmd.len >= (int)sizeof(buf))
		return -1;
	memcpy(buf, cmd.s, cmd.len);
	buf[cmd.len] = 0;
	w = word(&p);
	result[0] = 0;
	if(w.len == 7 && !strncmp(w.s, "sdialog", 7)) {
		sdialog(msg, word(&p));
	} else if(w.len == 7 && !strncmp(w.s, "shtable", 7)) {
		shtable();
	} else if(w.len == 6 && !strncmp(w.s, "events", 6)) {
		str *list = NULL;
		api.get_event_list(&list);
		SAY("%.*s", list ? list->len : 4, list ? list->s : "none");
		if(list) {
			pkg_free(list->s);
			pkg_free(list);
		}
	} else if(w.len == 10 && !strncmp(w.s, "presentity", 10)) {
		presentity(word(&p));
	} else if(w.len == 6 && !strncmp(w.s, "sphere", 6)) {
		char *sphere;
		a1 = word(&p);
		sphere = api.get_sphere(&a1);
		SAY("%s", sphere ? sphere : "none");
		if(sphere)
			pkg_free(sphere);
	} else if(w.len == 4 && !strncmp(w.s, "auth", 4)) {
		a1 = word(&p);
		a2 = word(&p);
		SAY("%d", api.pres_auth_status(msg, a1, a2));
	} else if(w.len == 7 && !strncmp(w.s, "refresh", 7)) {
		a1 = word(&p);
		a2 = word(&p);
		w = word(&p);
		SAY("%d", api.pres_refresh_watchers(&a1, &a2, atoi(w.s)));
	} else {
		SAY("unknown command");
	}
	snprintf(hdr, sizeof(hdr), "X-Result: %s\r\n", result);
	return add_lump_rpl(msg, hdr, strlen(hdr), LUMP_RPL_HDR) ? 1 : -1;
}

/* clang-format off */
static cmd_export_t cmds[] = {
	{"apitest", (cmd_function)w_apitest, 1, fixup_spve_null, 0, ANY_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

struct module_exports exports = {
	"presence_apitest", DEFAULT_DLFLAGS, cmds, 0, 0, 0, 0, mod_init, 0, 0
};
/* clang-format on */
