/* Module parameter policies (params_policy.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "params_policy.h"

int gp_int_policy(int *v, int dflt, int min, int max, int policy, char *why, size_t whylen)
{
	int was = *v, now;

	switch(policy) {
		case GP_ANY:
			return 0;
		case GP_NONZERO:
			now = was != 0;
			break;
		case GP_POSITIVE:
			now = was > 0;
			break;
		case GP_ONE:
			now = was == 1;
			break;
		default:
			if(was >= min && was <= max)
				return 0;
			if(policy == GP_REJECT) {
				snprintf(why, whylen, "%d is out of range [%d, %d]", was, min, max);
				return -1;
			}
			now = policy == GP_DEFAULT ? dflt : (was < min ? min : max);
			break;
	}
	if(now == was)
		return 0;
	*v = now;
	if(policy == GP_NONZERO || policy == GP_POSITIVE || policy == GP_ONE)
		snprintf(why, whylen, "%d read as %d (%s)", was, now, now ? "on" : "off");
	else
		snprintf(why, whylen, "%d is out of range [%d, %d], using %d", was, min, max, now);
	return 1;
}

/* RFC 3261 token characters (section 25.1) */
static const char token_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
								  "0123456789-.!%*_+`'~";

int gp_str_check(const char *s, int len, int check, char *why, size_t whylen)
{
	int i;

	switch(check) {
		case GP_SIP_URI:
			if(s == NULL || len == 0 || (len >= 4 && strncasecmp(s, "sip:", 4) == 0)
					|| (len >= 5 && strncasecmp(s, "sips:", 5) == 0))
				return 0;
			snprintf(why, whylen, "\"%.*s\" is not a SIP URI", len, s);
			return -1;
		case GP_TOKEN32:
			if(s != NULL && len <= 32) {
				for(i = 0; i < len; i++)
					if(s[i] == 0 || strchr(token_chars, s[i]) == NULL)
						break;
				if(i == len)
					return 0;
			}
			snprintf(why, whylen, "\"%.*s\" is not a token of at most 32 characters",
					s ? len : 0, s ? s : "");
			return -1;
		default:
			return 0;
	}
}
