/*
 * cache.c - see cache.h.  A handful of slots, replaced round-robin: the
 * pages dashboards poll are few.
 */
#include "api/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 16
#define CACHE_KEY 512

struct slot {
	char key[CACHE_KEY];
	uint64_t gen;
	char *body;
	size_t len;
};

struct api_cache {
	pthread_mutex_t lock;
	struct slot slots[CACHE_SLOTS];
	unsigned next;
};

struct api_cache *api_cache_new(void)
{
	struct api_cache *c = calloc(1, sizeof(*c));

	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void api_cache_free(struct api_cache *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		free(c->slots[i].body);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

char *api_cache_get(struct api_cache *c, const char *key, uint64_t gen, size_t *len)
{
	char *copy = NULL;
	int i;

	if (!c || strlen(key) >= CACHE_KEY)
		return NULL;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < CACHE_SLOTS; i++) {
		struct slot *s = &c->slots[i];

		if (s->body && s->gen == gen && strcmp(s->key, key) == 0) {
			copy = malloc(s->len + 1);
			if (copy) {
				memcpy(copy, s->body, s->len + 1);
				*len = s->len;
			}
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return copy;
}

void api_cache_put(struct api_cache *c, const char *key, uint64_t gen, const char *body,
		   size_t len)
{
	struct slot *s = NULL;
	char *copy;
	int i;

	if (!c || strlen(key) >= CACHE_KEY)
		return;
	copy = malloc(len + 1);
	if (!copy)
		return;
	memcpy(copy, body, len);
	copy[len] = '\0';
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < CACHE_SLOTS && !s; i++)
		if (c->slots[i].body && strcmp(c->slots[i].key, key) == 0)
			s = &c->slots[i];
	if (!s)
		s = &c->slots[c->next++ % CACHE_SLOTS];
	free(s->body);
	strcpy(s->key, key);
	s->gen = gen;
	s->body = copy;
	s->len = len;
	pthread_mutex_unlock(&c->lock);
}
