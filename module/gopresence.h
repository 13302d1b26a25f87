/*
 * Shared declarations of the C side of gopresence's presence.so.
 * The C side is Kamailio-facing only: it gathers what Kamailio parsed, hands it to the
 * engine as a wire frame, and applies the answer (reply through sl, NOTIFYs through tm).
 * Every SIP rule lives in the Go engine.
 */
#ifndef GOPRESENCE_H
#define GOPRESENCE_H

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"
#include "../../core/pvar.h"
#include "../../modules/sl/sl.h"
#include "../../modules/tm/tm_load.h"
#include "../../modules/tm/h_table.h"

#include "../presence/bind_presence.h" /* 5.6.3's presence_api_t, pres_ev_t, subs_t layouts */

#include "answer.h"
#include "params.h"

/* a wire field as Kamailio's str ({NULL, 0} when the frame has none) */
#define WSTR(f) ((str){(char *)(f).v, (int)(f).len})

/* presence.c: module state */
extern sl_api_t gp_slb;
extern struct tm_binds gp_tmb;
extern int gp_library_mode;
extern char *gp_engine_config; /* "name=value\n" lines for the engine */
extern int gp_engine_config_len;

/* engine_proc.c: the engine process (the only one that loads Go) */
int engine_validate(void);	   /* start-up check in a short-lived child */
void engine_main(void);		   /* never returns */
extern int gp_in_engine_process;

/* client.c: worker side of the unix socket */
uint32_t engine_next_id(void);
/* sends a request frame and reads its answer into *a (freed with engine_answer_free):
 * 0, ENGINE_UNAVAILABLE (not sent, no answer in time, connection broken) or ENGINE_MALFORMED */
#define ENGINE_UNAVAILABLE (-1)
#define ENGINE_MALFORMED (-2)
int engine_call(wire_buf_t *req, wire_answer_t *a);
void engine_answer_free(wire_answer_t *a);
/* sends a frame that has no answer */
int engine_send(wire_buf_t *req);

/* request.c: one SIP request through the engine; sl callback that notes sent replies */
int gp_track_replies(void);
int engine_handle_request(struct sip_msg *msg, int type, str *script_param);

/* presence.c: the script functions (bind_presence's handle_publish too) */
int gp_handle_publish(struct sip_msg *msg, char *sender, char *p2);
int gp_handle_subscribe(struct sip_msg *msg, char *watcher, char *p2);
int gp_handle_publish_uri(struct sip_msg *msg, str *sender);	 /* NULL: none */
int gp_handle_subscribe_uri(struct sip_msg *msg, str *watcher); /* NULL: From */
int gp_fixup_library_mode(void **param, int param_no);
int bind_presence(presence_api_t *api);

/* script.c: the other script functions, with stock's return codes; KEMI */
extern cmd_export_t gp_cmds[]; /* the module's cmds */
int gp_pres_auth_status(str watcher_uri, str pres_uri); /* 1..5, -1 */
int gp_pres_refresh_watchers(str *pres, str *event, int type, str *file_uri, str *filename);
int gp_pres_update_watchers(str *pres, str *event);	/* 1, -1 */
int gp_pres_has_subscribers(str *pres, str *event); /* 1, -1 */
int gp_engine_command_notify(const char *cmd, str *args, int nargs); /* 0, -1 */
int gp_kemi_register(void);

/* stats.c: counters in group "presence" */
int gp_stats_register(void);		/* mod_init */
int gp_stats_register_events(void); /* child_init(PROC_INIT) */
void gp_stats_request(int type, int code, long rtt_us, int engine_ok);
void gp_stats_notify_sent(int ok);
void gp_stats_notify_done(int code, int local);

/* event_list.c: events C modules register through bind_presence (stock's matching rules) */
int gp_add_event(pres_ev_t *event);
pres_ev_t *gp_contains_event(str *name, event_t *parsed);
pres_ev_t *gp_search_event(event_t *e);
int gp_get_event_list(str **list);
pres_ev_t *gp_event_of_msg(struct sip_msg *msg); /* the request's Event, if a module's */
pres_ev_t *gp_event_named(const char *name, int len);
/* appends their "module_event=" lines to the engine configuration */
int gp_module_events_config(char **text, int *len);

/* auth.c: at an initial SUBSCRIBE of an event whose module authorizes watchers, its
 * verdict as AuthStatus/AuthReason fields. 0 (also when there is nothing to decide), -1 the
 * rules could not be read (stock answers 500) */
int module_authorize(struct sip_msg *msg, str *watcher_param, wire_buf_t *b);

/* module_body.c: NOTIFY bodies of the events C modules registered */
typedef struct module_body_cache {
	pres_ev_t *ev;
	str parts; /* the stored bodies last aggregated (pointing into the frame) */
	str *agg;  /* agg_nbody's result for them */
	pres_ev_t *rules_ev;
	str rules_for; /* the presentity whose rules are held (pointing into the frame) */
	str *rules;	   /* its rules document (get_rules_doc), for apply_auth_nbody */
} module_body_cache_t;
typedef struct module_notify {
	pres_ev_t *ev;
	str headers; /* pkg: the engine's, plus Content-Type when a body remains */
	str body;
	int has_body;
	str *aux;	 /* aux_body_processing's result */
	str *authorized; /* apply_auth_nbody's result */
	str copy;	 /* a body from the frame, NUL-terminated for the module */
} module_notify_t;
int module_body_finish(const wire_notify_t *n, module_body_cache_t *cache, module_notify_t *out);
void module_notify_release(module_notify_t *m);
void module_body_cache_clear(module_body_cache_t *c);
/* a stored body as a module's callbacks take it: one pkg block, NUL-terminated */
str *module_body_dup(const char *v, size_t len);
void module_bodies_free(str **bodies, int n);

/* watchers.c: a change of rules re-evaluates the watchers (update_watchers_status) */
int gp_update_watchers_status(str *pres_uri, pres_ev_t *event, str *rules_doc);
/* reads the presentity's rules again first (presence.updateWatchers); -1: none, or failed */
int gp_update_watchers_rules(str *pres_uri, pres_ev_t *ev);

/* rpc.c: kamcmd presence.*, and the module's own engine commands */
int engine_command(const char *cmd, str *args, int nargs, wire_answer_t *a);
/* an answer to the module's own call (r: engine_call's result): its NOTIFYs leave from this
 * process; 0 for a success, -1 (logged, naming what) otherwise; the answer is freed */
int engine_answer_notify(int r, wire_answer_t *a, const char *what);
int presence_rpc_init(void);

/* subs_pv.c: $subs(attr), $notify_reply(pv) */
typedef struct gp_subs {
	str v[WIRE_SUBS_N]; /* by stock's attribute number; numbers as decimal text */
	int notify_cseq;	/* of a NOTIFY's: the CSeq it went out with */
	char data[];
} gp_subs_t;
#define GP_SUBS_TO_TAG 10
#define GP_SUBS_FROM_TAG 11
#define GP_SUBS_CALLID 12
#define GP_SUBS_STATUS 19
extern gp_subs_t *gp_subs_cur; /* what $subs shows now (NULL: null) */
/* a copy of the fields (f[WIRE_SUBS_N]) in one pkg or shm block */
gp_subs_t *gp_subs_new(const wire_field_t *f, int shm);
void gp_subs_set_last(const wire_answer_t *a); /* after handle_subscribe (pres_subs_mode) */
void gp_subs_forget_last(void);					/* before it */
int pv_parse_subs_name(pv_spec_p sp, str *in);
int pv_get_subs(struct sip_msg *msg, pv_param_t *param, pv_value_t *res);
int pv_parse_notify_reply_name(pv_spec_p sp, str *in);
int pv_get_notify_reply(struct sip_msg *msg, pv_param_t *param, pv_value_t *res);
void gp_notify_reply_set(sip_msg_t *rpl, int code); /* the reply $notify_reply reads */
void gp_notify_reply_clear(void);

/* notify.c: NOTIFYs from wire fields */
/* sends each NOTIFY group of a frame from offset from on; returns how many failed */
int notify_send_all(const wire_frame_t *f, size_t from);
/* event_route[presence:notify-reply] (-1: none), looked up in mod_init */
extern int gp_notify_reply_route;

/* shtable.c, sdialog.c, subs_db_timer.c: bind_presence's helpers for a companion's own
 * subscription table (rls), run in the calling process with 5.6.3's semantics */
shtable_t gp_new_shtable(int size);
void gp_destroy_shtable(shtable_t t, int size);
int gp_insert_shtable(shtable_t t, unsigned int hash, subs_t *subs);
subs_t *gp_search_shtable(shtable_t t, str callid, str to_tag, str from_tag, unsigned int hash);
int gp_delete_shtable(shtable_t t, unsigned int hash, subs_t *subs);
int gp_update_shtable(shtable_t t, unsigned int hash, subs_t *subs, int type);
subs_t *gp_mem_copy_subs(subs_t *s, int mem_type);
void gp_shtable_free_entry(subs_t *s);
int gp_extract_sdialog_info(subs_t *subs, struct sip_msg *msg, int max_expire, int *to_tag_gen,
		str scontact, str wuser, str wdomain);
void gp_update_db_subs_timer(db1_con_t *db, db_func_t *dbf, shtable_t t, int size, int no_lock,
		handle_expired_func_t handle_expired);

#endif
