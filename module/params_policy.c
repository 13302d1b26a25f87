/* Module parameter policies (params_policy.h). */
#include <stdio.h>
#include <string.h>

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
