/*
 * hooks.c - commands run inside a container around the dump and the
 * restore, the wait for its memory to settle, and the named profiles that
 * fill them in.
 *
 * Why: a checkpoint holds the container's memory, and on Docker a restore's
 * time grows with it (about 0.022 s per MB here).  An app that can be told
 * to drop what it does not need (a JVM's full GC) gives a much smaller
 * checkpoint; but the memory goes back to the kernel in the background
 * after the command returns, so the dump waits until the container's memory
 * use stops falling (bounded).  After a restore, some state must not be
 * shared with the original (a JVM's attach file): after hooks run in every
 * copy before its ready probe.
 *
 * Hooks run through the Engine API's exec, attached: the exit code and the
 * output (bounded) are kept with the record.
 */
#include "jobs/jobs_int.h"
#include "buf.h"
#include "clock.h"
#include "log.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOOK_OUTPUT_MAX 4096     /* bytes of a hook's output kept */
#define SETTLE_MAX_MS 3000       /* the longest wait for memory to settle */
#define SETTLE_INTERVAL_MS 200
#define SETTLE_QUIET 2           /* intervals without a fall, when none was seen */

static const struct jobs_profile profiles[] = {
	{"jvm",
	 "For a HotSpot JVM (Tomcat, Spring, ...) running as the container's PID 1 with jcmd "
	 "on its PATH: a full GC before the dump (jcmd 1 GC.run), then a wait until the JVM has "
	 "handed the freed heap back to the kernel, so the checkpoint holds the live heap only; "
	 "after each restore, the attach file /tmp/.java_pid1 is removed, so jcmd works in the "
	 "copy.",
	 "{\"before\":[{\"exec\":[\"jcmd\",\"1\",\"GC.run\"],\"timeout_s\":60}],\"settle\":true,"
	 "\"after_restore\":[{\"exec\":[\"rm\",\"-f\",\"/tmp/.java_pid1\"],\"timeout_s\":10}]}"},
};

int jobs_profiles(const struct jobs_profile **out)
{
	*out = profiles;
	return (int)(sizeof(profiles) / sizeof(profiles[0]));
}

const struct jobs_profile *jobs_profile_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

int jobs_hooks_resolve(const char *profile, struct json_object *before, int settle,
		       struct json_object *after_restore, char **out, struct jobs_error *err)
{
	const struct jobs_profile *p = NULL;
	struct json_object *o, *base = NULL, *v;

	*out = NULL;
	if (profile) {
		p = jobs_profile_find(profile);
		if (!p) {
			jobs_fail(err, "invalid_field", "no profile called '%s'", profile);
			snprintf(err->field, sizeof(err->field), "profile");
			snprintf(err->hint, sizeof(err->hint), "GET /profiles lists them");
			return -1;
		}
		base = json_tokener_parse(p->hooks);
	}
	if (!p && !before && settle < 0 && !after_restore)
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "profile", p ? json_object_new_string(p->name) : NULL);
	/* what the request gives wins over the profile's */
	if (before)
		json_object_object_add(o, "before", json_object_get(before));
	else if (base && json_object_object_get_ex(base, "before", &v))
		json_object_object_add(o, "before", json_object_get(v));
	else
		json_object_object_add(o, "before", json_object_new_array());
	if (settle >= 0)
		json_object_object_add(o, "settle", json_object_new_boolean(settle));
	else
		json_object_object_add(o, "settle", json_object_new_boolean(
					      base && json_object_object_get_ex(base, "settle", &v) &&
					      json_object_get_boolean(v)));
	if (after_restore)
		json_object_object_add(o, "after_restore", json_object_get(after_restore));
	else if (base && json_object_object_get_ex(base, "after_restore", &v))
		json_object_object_add(o, "after_restore", json_object_get(v));
	else
		json_object_object_add(o, "after_restore", json_object_new_array());
	*out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	json_object_put(base);
	return 0;
}

struct output {
	struct buf b;
	int truncated;
};

static int keep_output(void *arg, const char *data, size_t len)
{
	struct output *o = arg;
	size_t room = HOOK_OUTPUT_MAX - o->b.len;

	if (len > room) {
		o->truncated = 1;
		len = room;
	}
	if (len)
		buf_add(&o->b, data, len);
	return 0; /* keep reading: the command must be let finish */
}

/* "jcmd 1 GC.run": argv joined, for messages. */
static void argv_text(struct json_object *argv, char *out, size_t len)
{
	size_t i, n = json_object_array_length(argv), used = 0;

	out[0] = '\0';
	for (i = 0; i < n && used + 1 < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " " : "",
					 json_object_get_string(json_object_array_get_idx(argv, i)));
}

int jobs_hooks_run(struct engine *e, const char *cid, struct json_object *hooks,
		   const char *when, char **results_json, int64_t *ms, struct jobs_error *err)
{
	size_t i, n = hooks ? json_object_array_length(hooks) : 0;
	struct json_object *results = json_object_new_array();
	int64_t t0 = clock_mono_ms();
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		struct json_object *h = json_object_array_get_idx(hooks, i), *argv, *v, *res;
		struct output out;
		struct engine_error ee;
		enum engine_result r;
		long timeout_ms = 30000;
		int code = -1;
		int64_t t = clock_mono_ms();
		char cmd[300];

		if (!json_object_object_get_ex(h, "exec", &argv))
			continue;
		if (json_object_object_get_ex(h, "timeout_s", &v))
			timeout_ms = (long)json_object_get_int(v) * 1000;
		buf_init(&out.b, HOOK_OUTPUT_MAX + 1);
		out.truncated = 0;
		r = engine_exec_output(e, cid, argv, timeout_ms, &code, keep_output, &out, &ee);
		res = json_object_new_object();
		json_object_object_add(res, "exec", json_object_get(argv));
		json_object_object_add(res, "exit_code", r == ENGINE_OK && code >= 0
								 ? json_object_new_int(code) : NULL);
		json_object_object_add(res, "ms", json_object_new_int64(clock_mono_ms() - t));
		json_object_object_add(res, "output", json_object_new_string_len(
							      buf_str(&out.b), (int)out.b.len));
		json_object_object_add(res, "truncated", json_object_new_boolean(out.truncated));
		json_object_array_add(results, res);
		argv_text(argv, cmd, sizeof(cmd));
		if (r == ENGINE_ABORTED) {
			jobs_fail(err, "hook_failed", "%s hook %zu (%s) did not end within %lds",
				  when, i + 1, cmd, timeout_ms / 1000);
			rc = -1;
		} else if (r != ENGINE_OK) {
			jobs_fail_engine(err, r, &ee, "running a hook");
			rc = -1;
		} else if (code != 0) {
			jobs_fail(err, "hook_failed", "%s hook %zu (%s) exited %d: %.1500s", when,
				  i + 1, cmd, code, buf_str(&out.b));
			rc = -1;
		}
		if (rc)
			snprintf(err->hint, sizeof(err->hint),
				 "the command runs inside the container through the Engine API's "
				 "exec; check it there (docker exec CONTAINER %.200s)", cmd);
		buf_release(&out.b);
	}
	*ms = clock_mono_ms() - t0;
	free(*results_json);
	*results_json = json_object_array_length(results)
				? strdup(json_object_to_json_string_ext(results, JSON_C_TO_STRING_PLAIN))
				: NULL;
	json_object_put(results);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int64_t jobs_settle(struct engine *e, const char *cid, int64_t first, int64_t *last)
{
	struct engine_error ee;
	int64_t t0 = clock_mono_ms(), prev = first, cur, t = t0;
	int fell = 0, quiet = 0;

	*last = first;
	while (clock_mono_ms() - t0 + SETTLE_INTERVAL_MS <= SETTLE_MAX_MS) {
		int64_t step, wait = t + SETTLE_INTERVAL_MS - clock_mono_ms();

		/* a sample every interval; Docker's own stats call can take
		 * most of a second (its collector's period): no extra wait then */
		if (wait > 0)
			sleep_ms((long)wait);
		t = clock_mono_ms();
		if (engine_container_memory(e, cid, &cur, &ee) != ENGINE_OK)
			break;
		*last = cur;
		/* a fall smaller than 1 MiB or 1 % is noise */
		step = prev / 100 > (1 << 20) ? prev / 100 : (1 << 20);
		if (cur < prev - step) {
			fell = 1;
			quiet = 0;
		} else if (fell || ++quiet >= SETTLE_QUIET) {
			break; /* it fell and stopped falling, or never began */
		}
		prev = cur;
	}
	return clock_mono_ms() - t0;
}
