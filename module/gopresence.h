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
#include "../../modules/sl/sl.h"
#include "../../modules/tm/tm_load.h"
#include "../../modules/tm/h_table.h"

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

/* request.c: one SIP request through the engine */
int engine_handle_request(struct sip_msg *msg, int type, str *script_param);

/* rpc.c: kamcmd presence.* */
int presence_rpc_init(void);

/* notify.c: NOTIFYs from wire fields */
/* sends each NOTIFY group of a frame from offset from on; returns how many failed */
int notify_send_all(const wire_frame_t *f, size_t from);

#endif
