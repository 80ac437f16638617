/* tpl_store.h: templates and sampling rates kept across restarts.
 *
 * Each worker saves what its template cache knows (every scope's template definitions as
 * received, its sampling rates per sampler and default, its system init time) to
 * DIR/state/<instance>/templates-w<N>.bin, written to a temporary name, fsynced and renamed,
 * only when something changed. At start every worker reads all such files and keeps the
 * scopes whose exporter it owns, so a restarted collector decodes the first data packet
 * even if the number of workers changed. A damaged file is ignored with a log line, never
 * trusted: every length is checked and the file carries a checksum.
 */
#ifndef FH_TPL_STORE_H
#define FH_TPL_STORE_H

#include "tpl.h"

/* Saves the cache if it changed since the last save. 0, or -1 (logged) on an I/O error. */
int tpl_store_save(tpl_cache_t *c, const char *state_dir, int worker_id);

/* Which scopes a worker keeps: returns nonzero for the exporters it owns. */
typedef int (*tpl_store_keep_fn)(const flow_addr_t *exporter, void *arg);

/* The file image of what the cache knows (magic, length, checksum, payload; the most recently
 * used scopes that fit the file's bound), malloc'd with its length in *len; NULL when out of
 * memory. */
uint8_t *tpl_store_encode(const tpl_cache_t *c, size_t *len);

/* Defines into c the scopes, sampling rates and templates of a file's payload (the bytes after
 * its 16-byte header, whose checksum the caller has checked), keeping the scopes `keep`
 * accepts (all when NULL). Returns the number of templates defined; *damaged is set when the
 * payload does not parse to its end (what came before it stays defined). */
int tpl_store_decode(tpl_cache_t *c, const uint8_t *payload, size_t len, tpl_store_keep_fn keep,
                     void *arg, int *damaged);

/* Loads every templates-w*.bin of state_dir into c, oldest file first, keeping the scopes
 * `keep` accepts (all when NULL). Templates from a file other than worker own_id's (any
 * file, when own_id < 0) leave c marked changed, so the next save writes them into its own.
 * Returns the number of templates defined, or -1 when state_dir is unreadable. */
int tpl_store_load(tpl_cache_t *c, const char *state_dir, int own_id, tpl_store_keep_fn keep,
                   void *arg);

#endif
