/*
 * Statistics, through Kamailio's counters (group "presence": `kamcmd stats.get_statistics
 * presence:`, xhttp_prom's /metrics). Stock 5.6.3 exports none; these are ours.
 *
 * Counted where they happen, in every process: PUBLISH and SUBSCRIBE replies by class, NOTIFYs
 * sent, failed (no send, or a final reply >= 300) and timed out, engine round trips and their
 * total time. Held state (presentities, subscriptions by state and by event, the database
 * queue) is the engine's: read from it when a statistic is read, at most once a second per
 * process.
 */
#include <string.h>
#include <time.h>

#include "../../core/counters.h"
#include "../../core/dprint.h"
#include "../../core/ut.h"

#include "gopresence.h"

#define GROUP "presence"

static counter_handle_t publish_class[7], subscribe_class[7];
static counter_handle_t notify_sent, notify_failed, notify_timeout;
static counter_handle_t engine_requests, engine_rtt_us, engine_failures;
static int registered;

void gp_stats_request(int type, int code, long rtt_us, int engine_ok)
{
	if(!registered)
		return;
	if(engine_ok) {
		counter_inc(engine_requests);
		counter_add(engine_rtt_us, (int)rtt_us);
	} else {
		counter_inc(engine_failures);
	}
	if(code >= 100 && code < 700)
		counter_inc(type == WT_PUBLISH ? publish_class[code / 100] : subscribe_class[code / 100]);
}

void gp_stats_notify_sent(int ok)
{
	if(registered)
		counter_inc(ok ? notify_sent : notify_failed);
}

void gp_stats_notify_done(int code, int local)
{
	if(!registered)
		return;
	if(code == 408 && local)
		counter_inc(notify_timeout);
	else if(code >= 300)
		counter_inc(notify_failed);
}

/* ---- the engine's numbers ---- */

/* the engine's status row, kept for a second: one statistics dump asks once */
#define STATE_MAX 64
static struct {
	char name[64];
	long value;
} state[STATE_MAX];
static int state_n;
static time_t state_at;

static void state_refresh(void)
{
	wire_answer_t a;
	wire_rpc_item_t it;
	size_t off;
	time_t now = time(NULL);

	if(state_at == now)
		return;
	state_at = now;
	state_n = 0;
	if(engine_command("status", NULL, 0, &a) != 0)
		return;
	if(a.code < 300)
		for(off = a.rows_off; wire_next_rpc_item(&a.frame, &off, &it) == 1;) {
			str v = WSTR(it.value);
			int n = 0;
			if(it.tag != WF_RPC_INT || it.name.len >= sizeof(state[0].name)
					|| state_n == STATE_MAX)
				continue;
			memcpy(state[state_n].name, it.name.v, it.name.len);
			state[state_n].name[it.name.len] = 0;
			str2sint(&v, &n);
			state[state_n++].value = n;
		}
	engine_answer_free(&a);
}

/* param: the engine's name of the number */
static counter_val_t engine_value(counter_handle_t h, void *param)
{
	int i;

	state_refresh();
	for(i = 0; i < state_n; i++)
		if(strcmp(state[i].name, (char *)param) == 0)
			return state[i].value;
	return 0;
}

static int reg(counter_handle_t *h, const char *name, const char *doc)
{
	if(counter_register(h, GROUP, name, 0, 0, 0, doc, 0) < 0) {
		LM_ERR("cannot register statistic %s:%s\n", GROUP, name);
		return -1;
	}
	return 0;
}

static int reg_engine(const char *name, const char *engine_name, const char *doc)
{
	counter_handle_t h;
	char *key = strdup(engine_name); /* lives as long as the counter */
	if(key == NULL || counter_register(&h, GROUP, name, CNT_F_NO_RESET, engine_value, key, doc, 0)
			< 0) {
		LM_ERR("cannot register statistic %s:%s\n", GROUP, name);
		return -1;
	}
	return 0;
}

/* A statistic name from an event name: Prometheus allows [a-zA-Z0-9_] ("presence.winfo" ->
 * "presence_winfo") */
static void metric_name(char *out, size_t size, const char *prefix, str *ev)
{
	size_t n = (size_t)snprintf(out, size, "%s%.*s", prefix, ev->len, ev->s);
	size_t i;
	for(i = strlen(prefix); i < n && i < size; i++)
		if(!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= 'A' && out[i] <= 'Z')
				   || (out[i] >= '0' && out[i] <= '9')))
			out[i] = '_';
}

/* in mod_init: the counters; in child_init(PROC_INIT), once every module has registered its
 * events: one subscription count per event (gp_stats_register_events) */
int gp_stats_register(void)
{
	static const char *cls[7] = {NULL, "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};
	char name[64];
	int i;

	for(i = 1; i < 7; i++) {
		snprintf(name, sizeof(name), "publish_%s", cls[i]);
		if(reg(&publish_class[i], name, "PUBLISH requests answered with this class") < 0)
			return -1;
		snprintf(name, sizeof(name), "subscribe_%s", cls[i]);
		if(reg(&subscribe_class[i], name, "SUBSCRIBE requests answered with this class") < 0)
			return -1;
	}
	if(reg(&notify_sent, "notify_sent", "NOTIFYs handed to tm") < 0
			|| reg(&notify_failed, "notify_failed",
					   "NOTIFYs tm could not send or answered with >= 300 (timeouts aside)")
					   < 0
			|| reg(&notify_timeout, "notify_timeout", "NOTIFYs that got no final reply") < 0
			|| reg(&engine_requests, "engine_requests",
					   "PUBLISH and SUBSCRIBE requests the engine answered")
					   < 0
			|| reg(&engine_rtt_us, "engine_rtt_us",
					   "total engine round-trip time of engine_requests, microseconds")
					   < 0
			|| reg(&engine_failures, "engine_unavailable",
					   "requests answered 500 because the engine did not answer")
					   < 0)
		return -1;
	if(reg_engine("presentities", "presentities", "presentities held (URI and event)") < 0
			|| reg_engine("publications", "publications", "publications held") < 0
			|| reg_engine("subscriptions", "subscriptions", "subscriptions held") < 0
			|| reg_engine("subscriptions_active", "subscriptions_active", "active") < 0
			|| reg_engine("subscriptions_pending", "subscriptions_pending", "pending") < 0
			|| reg_engine("subscriptions_terminated", "subscriptions_terminated", "terminated")
					   < 0
			|| reg_engine("subscriptions_waiting", "subscriptions_waiting", "waiting") < 0
			|| reg_engine("db_queue", "db_queue", "database ops waiting for a commit") < 0
			|| reg_engine("db_last_us", "db_last_us", "last database transaction, us") < 0
			|| reg_engine("db_mean_us", "db_mean_us", "mean database transaction, us") < 0)
		return -1;
	registered = 1;
	return 0;
}

static int reg_event(str *ev)
{
	char name[64], key[96];

	metric_name(name, sizeof(name), "subscriptions_event_", ev);
	snprintf(key, sizeof(key), "subscriptions_event_%.*s", ev->len, ev->s);
	return reg_engine(name, key, "subscriptions held for this event");
}

int gp_stats_register_events(void)
{
	static str presence = str_init("presence");
	str *list = NULL;
	char *p, *end;

	if(!registered)
		return 0;
	/* the engine serves presence itself unless a C module (presence_xml) registered it */
	if(gp_event_named(presence.s, presence.len) == NULL && reg_event(&presence) < 0)
		return -1;
	if(gp_get_event_list(&list) < 0 || list == NULL)
		return 0;
	for(p = list->s, end = list->s + list->len; p < end;) {
		str ev;
		char *comma = memchr(p, ',', end - p);
		ev.s = p;
		ev.len = (int)((comma ? comma : end) - p);
		p = comma ? comma + 2 : end; /* ", " */
		if(reg_event(&ev) < 0)
			break;
	}
	pkg_free(list); /* one block */
	return 0;
}
