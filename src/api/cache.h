/*
 * cache.h - rendered list answers, reused while the store has not changed.
 *
 * Dashboards poll GET /checkpoints and /restores.  Rendering a page of 20
 * records costs far more than serving it; the answer is a pure function of
 * the query and the store's content, so it is kept, keyed by the normalised
 * query, and served again while store_generation() is unchanged.  Pages
 * showing a running job are never kept: their progress lives in memory.
 */
#ifndef CHECKPOINTD_API_CACHE_H
#define CHECKPOINTD_API_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct api_cache;

struct api_cache *api_cache_new(void);
void api_cache_free(struct api_cache *c);

/* A copy of the answer kept for key at generation gen (caller frees), or
 * NULL. */
char *api_cache_get(struct api_cache *c, const char *key, uint64_t gen, size_t *len);

/* Keeps body (copied) as the answer for key at generation gen. */
void api_cache_put(struct api_cache *c, const char *key, uint64_t gen, const char *body,
		   size_t len);

#endif
