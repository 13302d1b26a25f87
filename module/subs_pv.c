/*
 * $subs(attr) and $notify_reply(pv) (stock subscribe.c:747-983, notify.c:1843-1897).
 *
 * $subs shows one subscription: the one the last handle_subscribe of this process left (its
 * answer's subscription fields), the one a NOTIFY is being sent for while tm runs
 * event_route[tm:local-request], and the one whose NOTIFY got its reply while
 * event_route[presence:notify-reply] runs. The engine hands the fields over (docs/wire.md,
 * "subs"); here they are only copied and shown.
 */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/pvar.h"
#include "../../core/ut.h"
#include "../../core/receive.h"
#include "../../core/msg_translator.h"

#include "gopresence.h"

gp_subs_t *gp_subs_cur = NULL;
static gp_subs_t *subs_last = NULL; /* pkg: the last handle_subscribe's */

gp_subs_t *gp_subs_new(const wire_field_t *f, int shm)
{
	gp_subs_t *s;
	size_t total = 0;
	char *d;
	int i;

	for(i = 1; i < WIRE_SUBS_N; i++)
		total += f[i].len;
	s = shm ? shm_malloc(sizeof(*s) + total) : pkg_malloc(sizeof(*s) + total);
	if(s == NULL) {
		if(shm)
			SHM_MEM_ERROR;
		else
			PKG_MEM_ERROR;
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	d = s->data;
	for(i = 1; i < WIRE_SUBS_N; i++) {
		s->v[i].s = d;
		s->v[i].len = (int)f[i].len;
		if(f[i].len)
			memcpy(d, f[i].v, f[i].len);
		d += f[i].len;
	}
	return s;
}

void gp_subs_forget_last(void)
{
	if(gp_subs_cur == subs_last)
		gp_subs_cur = NULL;
	if(subs_last)
		pkg_free(subs_last);
	subs_last = NULL;
}

void gp_subs_set_last(const wire_answer_t *a)
{
	gp_subs_forget_last();
	if(!a->has_subs || gp_param_pres_subs_mode != 1)
		return;
	subs_last = gp_subs_new(a->subs, 0);
	gp_subs_cur = subs_last;
}

/* attribute names, by stock's number (subscribe.c pv_parse_subscription_name) */
static const char *subs_names[WIRE_SUBS_N] = {NULL, "uri", "to_user", "to_domain", "from_user",
		"from_domain", "watcher_username", "watcher_domain", "event", "event_id", "to_tag",
		"from_tag", "callid", "remote_cseq", "local_cseq", "contact", "local_contact",
		"record_route", "expires", "status", "reason", "version", "flags", "user_agent",
		"sockinfo"};

int pv_parse_subs_name(pv_spec_p sp, str *in)
{
	int i;

	if(sp == NULL || in == NULL || in->len <= 0)
		return -1;
	for(i = 1; i < WIRE_SUBS_N; i++) {
		if((int)strlen(subs_names[i]) == in->len
				&& strncmp(subs_names[i], in->s, in->len) == 0)
			break;
	}
	if(i == WIRE_SUBS_N && in->len == 8 && strncmp(in->s, "pres_uri", 8) == 0)
		i = 1;
	if(i == WIRE_SUBS_N) {
		LM_ERR("unknown PV subscription name %.*s\n", in->len, in->s);
		return -1;
	}
	sp->pvp.pvn.type = PV_NAME_INTSTR;
	sp->pvp.pvn.u.isname.type = 0;
	sp->pvp.pvn.u.isname.name.n = i;
	return 0;
}

int pv_get_subs(struct sip_msg *msg, pv_param_t *param, pv_value_t *res)
{
	int n = param->pvn.u.isname.name.n, i = 0;
	unsigned int u = 0;
	str *v;

	if(gp_subs_cur == NULL || n < 1 || n >= WIRE_SUBS_N)
		return pv_get_null(msg, param, res);
	v = &gp_subs_cur->v[n];
	switch(n) {
		case 13: /* remote_cseq */
		case 14: /* local_cseq */
		case 18: /* expires */
		case 19: /* status */
			str2int(v, &u);
			return pv_get_uintval(msg, param, res, u);
		case 21: /* version */
		case 22: /* flags */
			str2sint(v, &i);
			return pv_get_sintval(msg, param, res, i);
	}
	return pv_get_strval(msg, param, res, v);
}

/* $notify_reply(pv): pv evaluated against the reply to the NOTIFY whose route runs */
static sip_msg_t *notify_reply_msg = NULL;

int pv_parse_notify_reply_name(pv_spec_p sp, str *in)
{
	pv_spec_t *pv;

	if(in->s == NULL || in->len <= 0)
		return -1;
	pv = pkg_malloc(sizeof(pv_spec_t));
	if(pv == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	memset(pv, 0, sizeof(pv_spec_t));
	if(pv_parse_spec(in, pv) == NULL) {
		LM_ERR("invalid pv name [%.*s]\n", in->len, in->s);
		pkg_free(pv);
		return -1;
	}
	sp->pvp.pvn.u.dname = (void *)pv;
	sp->pvp.pvn.type = PV_NAME_PVAR;
	return 0;
}

int pv_get_notify_reply(struct sip_msg *msg, pv_param_t *param, pv_value_t *res)
{
	pv_spec_t *pv = (pv_spec_t *)param->pvn.u.dname;

	if(msg == NULL)
		return 1;
	if(pv == NULL || notify_reply_msg == NULL)
		return pv_get_null(msg, param, res);
	return pv_get_spec_value(notify_reply_msg, pv, res);
}

/* a local timeout has no reply: the script sees this one (stock's faked_msg) */
#define FAKED_408                                                                     \
	"SIP/2.0 408 TIMEOUT\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nFrom: invalid;\r\nTo: invalid\r\n" \
	"Call-ID: invalid\r\nCSeq: 1 TIMEOUT\r\nContent-Length: 0\r\n\r\n"

static sip_msg_t *faked_408(void)
{
	static sip_msg_t *m = NULL;
	static char buf[] = FAKED_408;

	if(m == NULL) {
		m = pkg_malloc(sizeof(sip_msg_t));
		if(m == NULL) {
			PKG_MEM_ERROR;
			return NULL;
		}
		if(build_sip_msg_from_buf(m, buf, sizeof(buf) - 1, inc_msg_no()) < 0) {
			LM_ERR("cannot parse the faked 408 reply\n");
			pkg_free(m);
			m = NULL;
		}
	}
	return m;
}

void gp_notify_reply_set(sip_msg_t *rpl, int code)
{
	if(rpl == NULL || rpl == FAKED_REPLY || code == 408)
		notify_reply_msg = faked_408();
	else
		notify_reply_msg = rpl;
}

void gp_notify_reply_clear(void)
{
	notify_reply_msg = NULL;
}
